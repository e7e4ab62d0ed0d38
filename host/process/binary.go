package process

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
)

// checkBinary verifies that path is an executable regular file and, when
// want is set, that its SHA-256 is want. It runs before every start, as
// close to the exec as we can get, so a binary replaced since the last start
// is caught.
func checkBinary(path, want string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err // wraps fs.ErrNotExist and friends
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%w: %s has mode %v", ErrNotExecutable, path, fi.Mode())
	}
	if want == "" {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("process: hash %s: %w", path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return &ChecksumError{Path: path, Want: want, Got: got}
	}
	return nil
}
