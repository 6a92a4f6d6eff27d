// Command sandbox starts two full server instances in-process over an
// embedded Redis (miniredis) and one shared store, and lets a developer
// drive simulated users and admins against them.
//
//	sandbox [flags]              the terminal UI (default)
//	sandbox run [flags] FILE...  run scenario files headless, print a PASS/FAIL gate
//	sandbox bench [flags]        the load tool
//	sandbox token URL USER       print a user's token (to connect from outside)
//
// Run "sandbox help" or "sandbox CMD -h" for the flags.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/dmchat/dmchat/core/bus"
)

func main() {
	// go-redis logs through a process-wide logger and would write over the
	// terminal UI; the bus reports its own state as structured events.
	redis.SetLogger(bus.NewGoRedisLogger(zap.NewNop()))
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "run":
			return runScenarios(args[1:], stdout, stderr)
		case "bench":
			return runBench(args[1:], stdout, stderr)
		case "token":
			return runToken(args[1:], stdout, stderr)
		case "help", "-h", "--help":
			fmt.Fprintln(stdout, usage)
			return 0
		}
	}
	return runTUI(args, stdout, stderr)
}

const usage = `usage:
  sandbox [--db URI] [--redis-down] [--users N] [--port-a N] [--port-b N] [--log-file PATH] [--scenario FILE]
                                                                                     terminal UI; web client at each instance's http:// address
  sandbox run [--json FILE] [--junit FILE] [--history FILE] FILE...                  headless scenarios
  sandbox bench [--workload NAME] [--short] [--target URL...] [--json] ...           load tool (bench --help lists the workloads)
  sandbox token [--password P] URL USER                                              print USER's token from the instance at URL`
