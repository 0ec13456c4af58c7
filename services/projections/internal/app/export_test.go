package app

// SetFoldChunk makes f fold every n events (tests of chunk boundaries).
func SetFoldChunk(f *FoldEvents, n int) { f.chunk = n }
