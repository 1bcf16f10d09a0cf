// Command svc-smarttab serves the SmartTab API: open a tab for a table, add
// what the guests order, close it with a tip.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
	"strconv"
	"time"
)

const defaultPort = 8003

func main() {
	addr, err := listenAddr(os.Getenv("PORT"))
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: addr, Handler: newServer(NewStore()), ReadHeaderTimeout: 5 * time.Second}
	log.Printf("%s listening on %s", serviceName, addr)
	log.Fatal(srv.ListenAndServe())
}

// listenAddr turns the PORT environment variable into a listen address.
func listenAddr(port string) (string, error) {
	if port == "" {
		return fmt.Sprintf(":%d", defaultPort), nil
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("invalid PORT %q", port)
	}
	return fmt.Sprintf(":%d", n), nil
}
