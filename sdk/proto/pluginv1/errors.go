package pluginv1

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/heksher-go/heksher/pluginapi"
)

// LookupStatus maps a [pluginapi.Settings] lookup error to the gRPC status the
// Settings service returns: NotFound, PermissionDenied (not declared),
// InvalidArgument (bad context), DeadlineExceeded/Canceled for context ends,
// Internal otherwise. The message keeps the error's text.
func LookupStatus(err error) error {
	if err == nil {
		return nil
	}
	code := codes.Internal
	switch {
	case errors.Is(err, pluginapi.ErrNotFound):
		code = codes.NotFound
	case errors.Is(err, pluginapi.ErrNotDeclared):
		code = codes.PermissionDenied
	case errors.Is(err, pluginapi.ErrBadContext):
		code = codes.InvalidArgument
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	}
	return status.Error(code, err.Error())
}

// LookupError is the inverse of [LookupStatus] on the plugin's side: it wraps
// the matching [pluginapi] sentinel (ErrNotFound, ErrNotDeclared,
// ErrBadContext) around the host's message, so plugins branch with
// errors.Is exactly as in-process code does. Other errors are returned as
// they are.
func LookupError(err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	var sentinel error
	switch st.Code() {
	case codes.NotFound:
		sentinel = pluginapi.ErrNotFound
	case codes.PermissionDenied:
		sentinel = pluginapi.ErrNotDeclared
	case codes.InvalidArgument:
		sentinel = pluginapi.ErrBadContext
	default:
		return err
	}
	return &remoteError{msg: st.Message(), sentinel: sentinel}
}

// remoteError carries the host's text and matches its sentinel.
type remoteError struct {
	msg      string
	sentinel error
}

func (e *remoteError) Error() string { return fmt.Sprintf("host: %s", e.msg) }
func (e *remoteError) Unwrap() error { return e.sentinel }
