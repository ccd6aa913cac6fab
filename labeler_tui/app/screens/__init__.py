"""The app's screens: the workbench, modal prompts, help and progress."""
