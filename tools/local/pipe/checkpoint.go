package pipe

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/concertsys/tools/local/internal/atomicfile"
)

// Checkpoint stores the last feed position whose events are on the bus.
type Checkpoint interface {
	Load() (uint64, error)
	Save(position uint64) error
}

var (
	_ Checkpoint = (*FileCheckpoint)(nil)
	_ Checkpoint = (*MemoryCheckpoint)(nil)
)

// FileCheckpoint keeps the position as decimal text in one file, replaced atomically
// (write a temporary file, fsync, rename, fsync the directory), so a crash leaves
// either the old or the new position, never a torn one.
type FileCheckpoint struct {
	path string
}

// NewFileCheckpoint stores the checkpoint at path; the directory must exist.
func NewFileCheckpoint(path string) *FileCheckpoint { return &FileCheckpoint{path: path} }

// Load returns the saved position, or 0 when nothing was saved yet.
func (c *FileCheckpoint) Load() (uint64, error) {
	b, err := os.ReadFile(c.path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read checkpoint: %w", err)
	}
	pos, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("checkpoint %s: %w", c.path, err)
	}
	return pos, nil
}

// Save replaces the position durably.
func (c *FileCheckpoint) Save(position uint64) error {
	if err := atomicfile.Write(c.path, []byte(strconv.FormatUint(position, 10)+"\n"), 0o600); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	return nil
}

// MemoryCheckpoint keeps the position in memory, for an in-memory stack.
type MemoryCheckpoint struct {
	mu  sync.Mutex
	pos uint64
}

// Load returns the saved position.
func (c *MemoryCheckpoint) Load() (uint64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pos, nil
}

// Save replaces the position.
func (c *MemoryCheckpoint) Save(position uint64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pos = position
	return nil
}
