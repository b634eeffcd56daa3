package translate

import (
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Error is a translation error with the gRPC code the P4Runtime specification
// assigns to it. It implements GRPCStatus, so status.Code(err) and
// status.FromError(err) return Code and Msg, also through wrapping.
type Error struct {
	Code codes.Code
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Msg) }

// GRPCStatus returns the error as a gRPC status.
func (e *Error) GRPCStatus() *status.Status { return status.New(e.Code, e.Msg) }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code codes.Code, format string, args ...any) *Error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// Code returns the code of err: OK for nil, the code of the first *Error in err's
// chain, Unknown otherwise.
func Code(err error) codes.Code {
	if err == nil {
		return codes.OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return codes.Unknown
}

// internal is the code of errors in values the caller built (not decoded from a
// controller's message): encoding an Entry that decoding could not have produced.
const internal = codes.Internal

func invalidf(format string, args ...any) *Error {
	return Errorf(codes.InvalidArgument, format, args...)
}

// prefixed returns err with context prepended to its message, keeping its code.
func prefixed(context string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		return &Error{Code: e.Code, Msg: context + ": " + e.Msg}
	}
	return err
}
