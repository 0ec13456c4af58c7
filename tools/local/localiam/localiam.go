// Package localiam emulates the part of AWS IAM that devstack's /_aws endpoints need:
// it issues one access key per principal (each service and a developer with full
// access), verifies AWS Signature Version 4 on incoming requests and applies each
// principal's policy, so a local caller can do no more than its role may on AWS.
//
// Keys live in the data directory (CredentialsFile, mode 0600) or, for an in-memory
// devstack, in memory only. Requests that are unsigned, badly signed, signed with an
// unknown key or denied by policy get the service's own AccessDeniedException
// (see EventsGuard and ManagementGuard).
package localiam

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/concertsys/tools/local/internal/atomicfile"
)

// Principals devstack issues keys to.
const (
	Concerts      = "concerts"
	Projections   = "projections"
	Notifications = "notifications"
	// Developer may do everything: SDK scripts, tests, devstack tail and dead-letters.
	Developer = "developer"
)

// Principals lists every principal, services first.
var Principals = []string{Concerts, Projections, Notifications, Developer}

// CredentialsFile is the file in the data directory holding the keys.
const CredentialsFile = "iam-credentials.json"

// Credentials is one principal's access key.
type Credentials struct {
	Principal       string `json:"principal"`
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
}

type file struct {
	Credentials []Credentials `json:"credentials"`
}

// Store holds the issued keys.
type Store struct {
	mu    sync.RWMutex
	byKey map[string]Credentials
	byPr  map[string]Credentials
}

// NewMemory issues fresh keys for every principal, kept in memory only.
func NewMemory() (*Store, error) {
	s := &Store{byKey: map[string]Credentials{}, byPr: map[string]Credentials{}}
	for _, p := range Principals {
		c, err := issue(p)
		if err != nil {
			return nil, err
		}
		s.add(c)
	}
	return s, nil
}

// LoadOrCreate reads dir's CredentialsFile, issuing and saving (0600) keys for
// principals it lacks, creating the file if needed.
func LoadOrCreate(dir string) (*Store, error) {
	path := filepath.Join(dir, CredentialsFile)
	s, err := Load(path)
	if errors.Is(err, os.ErrNotExist) {
		s = &Store{byKey: map[string]Credentials{}, byPr: map[string]Credentials{}}
	} else if err != nil {
		return nil, err
	}
	missing := false
	for _, p := range Principals {
		if _, ok := s.byPr[p]; !ok {
			c, err := issue(p)
			if err != nil {
				return nil, err
			}
			s.add(c)
			missing = true
		}
	}
	if missing {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("localiam: %w", err)
		}
		if err := s.WriteFile(path); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Load reads a credentials file written by WriteFile or LoadOrCreate.
func Load(path string) (*Store, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("localiam: %w", err)
	}
	var f file
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("localiam: %s: %w", path, err)
	}
	s := &Store{byKey: map[string]Credentials{}, byPr: map[string]Credentials{}}
	for _, c := range f.Credentials {
		// A principal this process has not registered is still a valid entry: a devstack
		// running more services (a RegisterReplayer of its own) wrote the file.
		if !validPrincipal(c.Principal) || c.AccessKeyID == "" || c.SecretAccessKey == "" {
			return nil, fmt.Errorf("localiam: %s: bad entry for principal %q", path, c.Principal)
		}
		s.add(c)
	}
	return s, nil
}

// WriteFile saves every key to path with mode 0600, replacing it atomically.
func (s *Store) WriteFile(path string) error {
	s.mu.RLock()
	var f file
	for _, p := range Principals {
		if c, ok := s.byPr[p]; ok {
			f.Credentials = append(f.Credentials, c)
		}
	}
	var others []string // loaded from a file written by a devstack with more services
	for p := range s.byPr {
		if !slices.Contains(Principals, p) {
			others = append(others, p)
		}
	}
	slices.Sort(others)
	for _, p := range others {
		f.Credentials = append(f.Credentials, s.byPr[p])
	}
	s.mu.RUnlock()
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(path, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("localiam: write %s: %w", path, err)
	}
	return nil
}

// Credentials returns principal's key.
func (s *Store) Credentials(principal string) (Credentials, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.byPr[principal]
	if !ok {
		return Credentials{}, fmt.Errorf("localiam: unknown principal %q, want one of %v", principal, Principals)
	}
	return c, nil
}

func (s *Store) lookup(accessKeyID string) (Credentials, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	c, ok := s.byKey[accessKeyID]
	return c, ok
}

func (s *Store) add(c Credentials) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.byPr[c.Principal]; ok {
		delete(s.byKey, old.AccessKeyID)
	}
	s.byPr[c.Principal] = c
	s.byKey[c.AccessKeyID] = c
}

// issue makes a key shaped like AWS's: a 20-character ID starting AKIA and a
// 40-character secret.
func issue(principal string) (Credentials, error) {
	const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	raw := make([]byte, 16+30)
	if _, err := rand.Read(raw); err != nil {
		return Credentials{}, fmt.Errorf("localiam: random: %w", err)
	}
	id := []byte("AKIA")
	for _, b := range raw[:16] {
		id = append(id, idAlphabet[int(b)%len(idAlphabet)])
	}
	return Credentials{
		Principal:       principal,
		AccessKeyID:     string(id),
		SecretAccessKey: base64.StdEncoding.EncodeToString(raw[16:]),
	}, nil
}

// validPrincipal says whether name can be a principal: a service name (lower-case
// letters, digits and dashes, starting with a letter) or the developer.
func validPrincipal(name string) bool {
	if name == "" || len(name) > 64 || name[0] < 'a' || name[0] > 'z' {
		return false
	}
	for _, r := range name {
		if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
			return false
		}
	}
	return true
}
