package config

import "fmt"

// constError is an error whose text is fixed by the wire contract (it is
// printed as is by the server before exiting), so it cannot follow the usual
// lowercase "config: ..." form.
type constError string

func (e constError) Error() string { return string(e) }

// ErrJWTSecretRequired is returned when JWT_SECRET is missing or blank
// outside production (in production the variable is reported as a
// *MissingError like every other required one). Its text is exact.
const ErrJWTSecretRequired = constError("JWT_SECRET is required and must be a non-empty string.")

// MissingError reports the first variable that production requires and the
// environment lacks. Its text is exact:
// "Missing required environment variable for production: NAME".
type MissingError struct {
	Name string
}

func (e *MissingError) Error() string {
	return "Missing required environment variable for production: " + e.Name
}

// VarError reports a variable with a value that cannot be used.
type VarError struct {
	// Name is the variable.
	Name string
	// Value is the rejected value, or "" when the variable holds a secret
	// and its value must not be echoed.
	Value string
	// Reason says what a good value looks like.
	Reason string
}

func (e *VarError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("config: invalid %s: %s", e.Name, e.Reason)
	}
	return fmt.Sprintf("config: invalid %s=%q: %s", e.Name, e.Value, e.Reason)
}

// invalid returns a *VarError showing the value.
func invalid(name, value, reason string) error {
	return &VarError{Name: name, Value: value, Reason: reason}
}

// invalidSecret returns a *VarError that does not echo the value.
func invalidSecret(name, reason string) error {
	return &VarError{Name: name, Reason: reason}
}
