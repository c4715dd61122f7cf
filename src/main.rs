mod cli;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    let result = match args.command {
        Some(cli::Command::Run(a)) => cli::run(a),
        Some(cli::Command::Bench(a)) => cli::bench(a),
        Some(cli::Command::Speed(a)) => cli::speed(a),
        Some(cli::Command::Parity(a)) => cli::parity(a),
        Some(cli::Command::Gui(a)) => cli::gui(a),
        None => cli::gui(cli::GuiArgs::default()),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::from(1)
        }
    }
}
