"""The close-of-business worker: APScheduler jobs around the application's passes."""
