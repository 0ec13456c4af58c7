// Package board is the live board page devstack serves at GET /.
package board

import "embed"

// Files holds index.html.
//
//go:embed index.html
var Files embed.FS
