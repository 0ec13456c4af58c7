package stack

import (
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/concertsys/tools/local/localiam"
)

// openIAM issues (or, in a data directory, loads) the keys /_aws accepts.
func (s *Stack) openIAM(cfg Config) (err error) {
	if cfg.InMemory {
		s.iam, err = localiam.NewMemory()
	} else {
		s.iam, err = localiam.LoadOrCreate(s.dataDir)
	}
	if err != nil {
		return err
	}
	if cfg.CredentialsFile == "" {
		return nil
	}
	if err := s.iam.WriteFile(cfg.CredentialsFile); err != nil {
		return fmt.Errorf("credentials file: %w", err)
	}
	if cfg.InMemory {
		s.closers = append(s.closers, func() error { _ = os.Remove(cfg.CredentialsFile); return nil })
	}
	return nil
}

// Credentials returns the keys the stack issued to principal (localiam.Developer
// or a service name), for SDK clients and tests.
func (s *Stack) Credentials(principal string) (localiam.Credentials, error) {
	return s.iam.Credentials(principal)
}

// CredentialsProvider is Credentials for an AWS SDK client.
func (s *Stack) CredentialsProvider(principal string) (aws.CredentialsProvider, error) {
	c, err := s.iam.Credentials(principal)
	if err != nil {
		return nil, err
	}
	return credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, ""), nil
}

// credentialsProvider is CredentialsProvider for the principals the stack itself
// knows to exist.
func (s *Stack) credentialsProvider(principal string) aws.CredentialsProvider {
	p, err := s.CredentialsProvider(principal)
	if err != nil {
		panic(err)
	}
	return p
}
