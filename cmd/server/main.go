// Command server is the standalone chat server: the same core as the
// sandbox, configured by environment variables only (see docs/runbook.md).
//
//	server                       run the server
//	server users add NAME [--admin]   create a user (or promote to admin), password on stdin
//	server backup DEST               copy the SQLite database of DB_URI to DEST while it runs
//	server help                      the usage (read before the configuration, as is a mistyped command)
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/redis/go-redis/v9"

	"github.com/dmchat/dmchat/core/auth"
	"github.com/dmchat/dmchat/core/bus"
	"github.com/dmchat/dmchat/core/chat"
	"github.com/dmchat/dmchat/core/config"
	"github.com/dmchat/dmchat/core/server"
	"github.com/dmchat/dmchat/core/store"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stderr))
}

// usage names the commands; the configuration is the environment's
// (docs/runbook.md).
const usage = "usage: server | server users add NAME [--admin] | server backup DEST (configured by environment variables: docs/runbook.md)"

func run(args []string, stdin io.Reader, stderr io.Writer) int {
	// The command is known before the configuration is read: help or a
	// mistyped command should not first ask for JWT_SECRET.
	var command func(context.Context, config.Config) error
	switch {
	case len(args) == 0:
	case len(args) >= 2 && args[0] == "users" && args[1] == "add":
		command = func(ctx context.Context, cfg config.Config) error { return addUser(ctx, cfg, args[2:], stdin) }
	case args[0] == "backup":
		command = func(ctx context.Context, cfg config.Config) error { return backup(ctx, cfg, args[1:]) }
	case len(args) == 1 && (args[0] == "help" || args[0] == "-h" || args[0] == "--help"):
		fmt.Fprintln(stderr, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "unknown command %q; %s\n", strings.Join(args, " "), usage)
		return 2
	}
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if command != nil {
		if err := command(ctx, cfg); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		return 0
	}
	srv, err := server.New(ctx, server.Options{Config: cfg})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	// go-redis logs through a process-wide logger; route it into ours.
	redis.SetLogger(bus.NewGoRedisLogger(srv.Logger()))
	if err := srv.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

// addUser is the operator's way to make an admin: never over the public API.
func addUser(ctx context.Context, cfg config.Config, args []string, stdin io.Reader) error {
	fs := flag.NewFlagSet("users add", flag.ContinueOnError)
	admin := fs.Bool("admin", false, "make the user an admin")
	// Accept the flag after the name as well as before it.
	var name string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return err
		}
		args = fs.Args()
		if len(args) > 0 {
			if name != "" {
				return fmt.Errorf("users add: unexpected argument %q", args[0])
			}
			name, args = args[0], args[1:]
		}
	}
	if name == "" {
		return errors.New("usage: server users add NAME [--admin] (password on standard input)")
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("users add: failed to read password: %w", err)
	}
	password := strings.TrimRight(line, "\r\n")
	st, err := store.Open(ctx, cfg.DBURI, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	acc := &auth.Accounts{Store: st, Tokens: auth.NewTokens(cfg.JWTSecret, cfg.TokenTTL)}
	var u chat.User
	if *admin {
		u, err = acc.EnsureAdmin(ctx, name, password)
	} else {
		u, err = acc.Register(ctx, name, password)
	}
	if err != nil {
		return fmt.Errorf("users add: %w", err)
	}
	fmt.Printf("user %s id=%s role=%s\n", u.Username, u.ID, u.Role)
	return nil
}

// backup copies a running server's SQLite database (docs/deploy.md): a
// PostgreSQL store is backed up with pg_dump instead.
func backup(ctx context.Context, cfg config.Config, args []string) error {
	if len(args) != 1 {
		return errors.New("usage: server backup DEST (DEST must not exist)")
	}
	path, ok := strings.CutPrefix(cfg.DBURI, "sqlite:")
	if !ok {
		return errors.New("backup: DB_URI is not sqlite:PATH (back up PostgreSQL with pg_dump)")
	}
	if err := store.BackupSQLite(ctx, path, args[0]); err != nil {
		return err
	}
	fmt.Printf("backup of %s written to %s\n", path, args[0])
	return nil
}
