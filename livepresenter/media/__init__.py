"""Media in and out: the frame type, a streaming video reader, an H.264/AAC MP4 writer, and image files."""

from livepresenter.media.frame import Frame
from livepresenter.media.mp4_writer import AudioFormat, Mp4Writer
from livepresenter.media.video_reader import VideoReader

__all__ = ["AudioFormat", "Frame", "Mp4Writer", "VideoReader"]
