"""The media pipeline's tool layer: ffmpeg/ffprobe runs, probing, ladders, packaging, quality."""
