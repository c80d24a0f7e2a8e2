"""Video files in and out: a streaming reader and an H.264/AAC MP4 writer."""

from livepresenter.media.mp4_writer import AudioFormat, Mp4Writer
from livepresenter.media.video_reader import VideoFrame, VideoReader

__all__ = ["AudioFormat", "Mp4Writer", "VideoFrame", "VideoReader"]
