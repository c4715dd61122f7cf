"""The GPU-machine procedure (`harvest.sh`): data pack, multi-model training, import."""
