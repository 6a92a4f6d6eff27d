package bench

import (
	"flag"
	"fmt"
	"io"
	"strconv"
)

// Args renders o as the flags ParseServerArgs reads, for the child process.
func (o ServerOptions) Args() []string {
	args := []string{"--instances", strconv.Itoa(max(1, o.Instances))}
	add := func(name, v string) {
		if v != "" {
			args = append(args, "--"+name, v)
		}
	}
	add("db", o.DB)
	add("redis", o.Redis)
	add("dir", o.Dir)
	add("log", o.LogFile)
	add("pprof", o.PprofAddr)
	if o.Rate > 0 {
		add("rate", strconv.FormatFloat(o.Rate, 'f', -1, 64))
	}
	if o.Burst > 0 {
		add("burst", strconv.Itoa(o.Burst))
	}
	if o.BcryptCost > 0 {
		add("bcrypt", strconv.Itoa(o.BcryptCost))
	}
	if o.ProductionLimits {
		args = append(args, "--production-limits")
	}
	return args
}

// ParseServerArgs reads the flags Args writes.
func ParseServerArgs(args []string, stderr io.Writer) (ServerOptions, error) {
	var o ServerOptions
	fs := flag.NewFlagSet("bench _server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&o.Instances, "instances", 1, "number of instances")
	fs.StringVar(&o.DB, "db", "", "DB_URI (default sqlite in the directory)")
	fs.StringVar(&o.Redis, "redis", "", "auto, miniredis, redis-server or a redis:// URL")
	fs.StringVar(&o.Dir, "dir", "", "directory for the database and log (default a new temporary one)")
	fs.StringVar(&o.LogFile, "log", "", `log file, or "discard"`)
	fs.StringVar(&o.PprofAddr, "pprof", "", "loopback host:port for net/http/pprof on the first instance")
	fs.Float64Var(&o.Rate, "rate", 0, "WS_RATE")
	fs.IntVar(&o.Burst, "burst", 0, "WS_BURST")
	fs.IntVar(&o.BcryptCost, "bcrypt", 0, "bcrypt cost")
	fs.BoolVar(&o.ProductionLimits, "production-limits", false, "keep the server's default limits (WS_RATE, WS_BURST, login limit)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("bench _server: unexpected argument %q", fs.Arg(0))
	}
	return o, nil
}
