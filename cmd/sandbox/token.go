package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dmchat/dmchat/core/client"
	"github.com/dmchat/dmchat/core/sandbox"
)

// runToken logs a user in on a running instance (a sandbox's, or any
// server's) and prints the token, which login returns only in the cookie:
//
//	TOKEN=$(sandbox token http://127.0.0.1:PORT user1)
//	wscat -c ws://127.0.0.1:PORT/ws -H "Authorization: Bearer $TOKEN"
func runToken(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sandbox token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	password := fs.String("password", sandbox.DefaultPassword, "the user's password")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sandbox token [--password P] URL USER   (URL: http://ADDR of an instance, as the help (?) lists)")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return 2
	}
	base, user := fs.Arg(0), fs.Arg(1)
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	token, err := (&client.API{BaseURL: base}).Login(ctx, user, *password)
	if err != nil {
		fmt.Fprintf(stderr, "sandbox token: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, token)
	return 0
}
