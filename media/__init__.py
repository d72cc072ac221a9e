"""The media pipeline: uploads, transcoding to an HLS ladder, renditions, storage, trickplay,
subtitles."""
