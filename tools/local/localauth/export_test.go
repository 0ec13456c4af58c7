package localauth

import "crypto/rsa"

// SigningKey lets the external tests forge tokens with chosen claims.
func SigningKey(i *Issuer) *rsa.PrivateKey { return i.key }
