// Command jobmanager is the one binary of the system, with subcommands:
//
//	dev      the whole stack on embedded defaults: Temporal dev server, private
//	         PostgreSQL (unless DATABASE_URL is set), migrations, demo data, API, worker
//	api      the HTTP API
//	worker   the Temporal worker
//	migrate  apply database migrations
//	seed     create the demo dealer (idempotent)
//	mailbox  the SMTP mailbox that takes signed documents back
//	healthcheck  probe an http(s):// or tcp:// address, for container health checks
//
// JOBMANAGER_ENV=production makes api, worker and mailbox refuse to start on the
// public development keys and insecure defaults (see config.go).
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// JSON lines for log collectors; LOG_FORMAT=text for people.
	logger, lerr := newLogger("json")
	if lerr != nil {
		fmt.Fprintln(os.Stderr, lerr)
		os.Exit(2)
	}
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "dev":
		err = runDev(ctx, args)
	case "api":
		err = runAPI(ctx, logger, args)
	case "worker":
		err = runWorker(ctx, logger)
	case "migrate":
		err = runMigrate(ctx)
	case "seed":
		err = runSeed(ctx, logger)
	case "mailbox":
		err = runMailbox(ctx, logger)
	case "healthcheck":
		err = runHealthcheck(ctx, args)
	case "help", "-h", "--help":
		usage()
		return
	default:
		usage()
		err = fmt.Errorf("unknown command %q", cmd)
	}
	if err != nil && !errors.Is(err, context.Canceled) {
		logger.Error("jobmanager failed", "error", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage: jobmanager <command>

commands:
  dev      run the whole stack locally (Temporal dev server, PostgreSQL, API, worker, demo data)
  api      run the HTTP API           (DATABASE_URL, TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, API_ADDR)
  worker   run the Temporal worker    (DATABASE_URL, TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE)
  migrate  apply database migrations  (DATABASE_URL)
  seed     create the demo dealer     (DATABASE_URL)
  mailbox  take signed documents back by e-mail (DATABASE_URL, TEMPORAL_*, MAILBOX_ADDR, SMTP_* for notices)
  healthcheck <url>  exit 0 when an http(s):// URL answers 2xx or a tcp:// address accepts

JOBMANAGER_ENV=production refuses development keys and insecure defaults; see README.`)
}
