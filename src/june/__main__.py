from june.cli.main import app

app()
