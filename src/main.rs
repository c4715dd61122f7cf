mod cli;

use clap::Parser;

fn main() -> std::process::ExitCode {
    rescale_lab::heap::keep_freed_memory();
    let args = cli::Cli::parse();
    // Rust ignores SIGPIPE, so printing into a closed pipe (`… | head`) would panic; a command
    // line tool should just stop, as every other does. Not the app: a closed stderr must not
    // end a window.
    #[cfg(unix)]
    if matches!(args.command, Some(cli::Command::Run(_) | cli::Command::Bench(_) | cli::Command::Speed(_) | cli::Command::Parity(_) | cli::Command::Models(_))) {
        // SAFETY: restoring a signal's default disposition before any thread exists.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    let result = match args.command {
        Some(cli::Command::Run(a)) => cli::run(a),
        Some(cli::Command::Bench(a)) => cli::bench(a),
        Some(cli::Command::Speed(a)) => cli::speed(a),
        Some(cli::Command::Parity(a)) => cli::parity(a),
        Some(cli::Command::Models(a)) => cli::models(a),
        Some(cli::Command::Gui(a)) => cli::gui(a),
        None => cli::gui(cli::GuiArgs::default()),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            // 2 for a mistake in the arguments, as clap itself exits for the ones it finds.
            let bad_argument = error.downcast_ref::<cli::BadArgument>().is_some();
            std::process::ExitCode::from(if bad_argument { 2 } else { 1 })
        }
    }
}
