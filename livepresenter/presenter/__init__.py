"""Presenters: profiles with their rights metadata (`profiles`), a portrait or profile loaded by name (`loading`),
and a presenter made ready to animate, its face found, engine set up and compositor built (`preparation`, imported
on its own: it brings the face detector and the engines, which the tray and the profile commands do not need).

Layered inside: profiles know nothing of the others, loading reads profiles, preparation loads.
"""

from livepresenter.presenter.loading import Presenter, load_presenter
from livepresenter.presenter.profiles import default_label

__all__ = ["Presenter", "default_label", "load_presenter"]
