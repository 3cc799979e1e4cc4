"""Prufrock's desktop studio (PySide6 + pyqtgraph).

    from PySide6.QtWidgets import QApplication
    import studio
    app = QApplication([])
    window = studio.create_window()        # bundled default voice, not yet shown
    window.show(); app.exec()
"""

__version__ = "0.1.0"


def create_window(model=None, settings=None, **kwargs):
    """Build the main window (objectName "mainWindow", not shown) inside the running QApplication."""
    from studio.app import create_window as _create

    return _create(model=model, settings=settings, **kwargs)


def main(argv=None) -> int:
    from studio.app import main as _main

    return _main(argv)
