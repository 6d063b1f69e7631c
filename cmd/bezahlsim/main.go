// Command bezahlsim runs the bezahl.de simulator (deploy/bezahlsim) on its own, for
// trying payments by hand: the API under /nxt/v1/, pay pages under /pay/{id}.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/jobmanager/jobmanager/deploy/bezahlsim"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "listen address (loopback)")
	token := flag.String("token", "dev-token", "the NX-Token the API accepts")
	org := flag.String("org", "dev-org", "the organisation ID")
	flag.Parse()
	srv, err := bezahlsim.Start(*addr, *token, *org)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "bezahl.de simulator\n  API       %s  (NX-Token %q, orgId %q)\n  pay pages %s/pay/<order id>\n",
		srv.APIURL(), *token, *org, srv.URL)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	_ = srv.Close()
}
