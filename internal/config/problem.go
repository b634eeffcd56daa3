package config

import (
	"strings"
)

// Problem is one thing wrong with a configuration.
type Problem struct {
	Path   string // key path: "grpc.listen", "interfaces[1].port"; empty for the file as a whole
	Origin string // where the value came from: "line 12", "flag -listen"; empty for a default
	Msg    string
}

func (p Problem) Error() string {
	switch {
	case p.Path != "" && p.Origin != "":
		return p.Path + " (" + p.Origin + "): " + p.Msg
	case p.Path != "":
		return p.Path + ": " + p.Msg
	case p.Origin != "":
		return p.Origin + ": " + p.Msg
	}
	return p.Msg
}

// Problems are every problem found, in the order of the file. Parse and
// Validate return them as their error.
type Problems []Problem

func (ps Problems) Error() string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.Error()
	}
	return strings.Join(s, "\n")
}

// err returns ps as an error, nil when there are none.
func (ps Problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}
