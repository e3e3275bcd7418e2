"""The task consumer's entry: `huey_consumer consumer.huey`. As in Huey's documentation
for Flask, it creates the app (the database, the settings) and then imports the tasks, so
every task runs in that app and the tasks package never reaches back up for it."""
from app import create_app

app = create_app()

from tasks import huey  # noqa: E402,F401  (what huey_consumer serves; the import registers every task)
