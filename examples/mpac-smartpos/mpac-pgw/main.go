// Command mpac-pgw is the MPAC payment gateway: it validates card payments
// from SmartPOS terminals and authorizes or declines them.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
	"strconv"
	"time"
)

const defaultPort = 8004

func main() {
	addr, err := listenAddr(os.Getenv("PORT"))
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Addr: addr, Handler: newServer(NewGateway()), ReadHeaderTimeout: 5 * time.Second}
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
