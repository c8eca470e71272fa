package sim

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"sync"
	"time"
)

// Certificates are a CA made for one emulator and a server certificate it signed for the
// emulator's names and addresses. Clients that cannot speak plain HTTP (the BOSH CPI's ECS
// client, terraform's sts_endpoint) trust CAPEM (e.g. through SSL_CERT_FILE).
type Certificates struct {
	CAPEM  []byte      // the CA certificate, PEM
	Config *tls.Config // serves the server certificate
}

// NewCertificates makes a CA and a server certificate for every name or IP address in sans
// (at least one). Both live ten years from now; the keys never leave memory.
func NewCertificates(sans []string) (*Certificates, error) {
	if len(sans) == 0 {
		return nil, errors.New("sim: a TLS certificate needs at least one name or address")
	}
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("sim: making the CA key: %w", err)
	}
	ca := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "alicloud-sim CA", Organization: []string{"concourse-pack emulator"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("sim: signing the CA: %w", err)
	}
	ca, err = x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("sim: reading the CA back: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("sim: making the server key: %w", err)
	}
	leaf := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: sans[0]},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, san := range sans {
		if ip := net.ParseIP(san); ip != nil {
			leaf.IPAddresses = append(leaf.IPAddresses, ip)
		} else if san != "" {
			leaf.DNSNames = append(leaf.DNSNames, san)
		}
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("sim: signing the server certificate: %w", err)
	}
	return &Certificates{
		CAPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		Config: &tls.Config{
			MinVersion:   tls.VersionTLS12,
			Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER, caDER}, PrivateKey: key}},
		},
	}, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127)) // crypto/rand never fails (Go 1.24)
	return n
}

// tlsHandshake is the first byte of a TLS record carrying a handshake (ClientHello).
const tlsHandshake = 0x16

// SniffTLS serves TLS and plain HTTP on one listener: a connection whose first byte starts a
// TLS handshake is served with cfg, any other as it is. The first byte is read by the
// connection's first Read, so a slow client never holds up Accept.
func SniffTLS(ln net.Listener, cfg *tls.Config) net.Listener {
	return &sniffListener{Listener: ln, cfg: cfg}
}

type sniffListener struct {
	net.Listener
	cfg *tls.Config
}

func (l *sniffListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &sniffConn{Conn: c, cfg: l.cfg}, nil
}

// sniffConn decides on its first Read whether it is TLS.
type sniffConn struct {
	net.Conn // the raw connection
	cfg      *tls.Config

	once sync.Once
	in   io.Reader // plain: the buffered raw connection
	mu   sync.Mutex
	tls  *tls.Conn // TLS: the server side over the buffered raw connection; set under mu
	err  error
}

func (c *sniffConn) sniff() {
	br := bufio.NewReader(c.Conn)
	first, err := br.Peek(1)
	if err != nil {
		c.err = err
		return
	}
	if first[0] == tlsHandshake {
		c.mu.Lock()
		c.tls = tls.Server(&bufferedConn{Conn: c.Conn, r: br}, c.cfg)
		c.mu.Unlock()
		return
	}
	c.in = br
}

func (c *sniffConn) Read(p []byte) (int, error) {
	c.once.Do(c.sniff)
	switch {
	case c.err != nil:
		return 0, c.err
	case c.tls != nil:
		return c.tls.Read(p)
	}
	return c.in.Read(p)
}

func (c *sniffConn) Write(p []byte) (int, error) {
	c.once.Do(c.sniff)
	if c.tls != nil {
		return c.tls.Write(p)
	}
	return c.Conn.Write(p)
}

// Close may come from another goroutine than Read (a server shutting down).
func (c *sniffConn) Close() error {
	c.mu.Lock()
	t := c.tls
	c.mu.Unlock()
	if t != nil {
		return t.Close()
	}
	return c.Conn.Close()
}

// NetConn returns the raw connection (the reset fault sets SO_LINGER on it).
func (c *sniffConn) NetConn() net.Conn { return c.Conn }

// bufferedConn reads what the sniffer already buffered before the rest of the connection.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
