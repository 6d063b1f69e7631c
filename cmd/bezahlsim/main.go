// Command bezahlsim runs the bezahl.de simulator (deploy/bezahlsim) on its own, for
// trying payments by hand and for the compose stack's demo profile: the API under
// /nxt/v1/, pay pages under /pay/{id}. It registers no webhook itself: whoever uses it
// does, through the API, as with bezahl.de (the compose stack's seed one-shot).
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
	// In a container the simulator listens on 0.0.0.0, which is no address for a
	// browser; the pay links in customers' e-mails must use the published one.
	public := flag.String("public-url", os.Getenv("BEZAHLSIM_PUBLIC_URL"),
		"base URL of the pay links, where browsers reach the simulator (BEZAHLSIM_PUBLIC_URL); empty: the listen address")
	flag.Parse()
	srv, err := bezahlsim.StartPublic(*addr, *public, *token, *org)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "bezahl.de simulator\n  API       %s  (NX-Token %q, orgId %q)\n  pay pages %s/pay/<order id>\n",
		srv.APIURL(), *token, *org, srv.PublicURL)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	_ = srv.Close()
}
