"""The studio window: make a lecture video as a historical figure without a terminal.

Split so that most of it is testable without Qt: `settings` (what the window remembers), `jobs` (the offline
render on a worker thread with progress and cancel), `webcam` (recording a lecture from the webcam and microphone)
and `sound` (audio output for playback) hold no Qt; `player` and `window` are the thin Qt layer on top.
"""
