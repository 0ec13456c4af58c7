package app

// SetFoldChunk makes f fold every n events (tests of chunk boundaries).
func SetFoldChunk(f *FoldEvents, n int) { f.chunk = n }

// QueuedPublishes is the number of publishes waiting for p's PutEvents in flight.
func QueuedPublishes(p *ViewPublisher) int {
	c := p.publisher.(*coalescing)
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue)
}
