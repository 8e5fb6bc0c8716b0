package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dimos/postgres/pgtest"
)

// selfSigned writes a fresh self-signed certificate for 127.0.0.1 and its key as PEM
// files, and returns their paths and a pool that trusts the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "dimos test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// serveWeb runs the web side of cfg on a loopback port until the test ends and
// returns its host:port. Temporal is not needed for the pages these tests read.
func serveWeb(t *testing.T, cfg config) string {
	t.Helper()
	log := testLogger(t)
	db := pgtest.New(t, true)
	tc, err := dialTemporal(freeAddr(t), "default", log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	w, err := newWeb(cfg, db, tc, log)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.serveListener(ctx, ln) }() //nolint:errcheck
	t.Cleanup(func() { cancel(); <-done })
	return ln.Addr().String()
}

// TestTLS shows that with a certificate and key dimos serves HTTPS itself, TLS 1.2
// or later, with HSTS and Secure cookies, and that without them it serves plain HTTP
// without HSTS (a reverse proxy then owns the header).
func TestTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	cfg := testConfig()
	cfg.TLSCert, cfg.TLSKey = certFile, keyFile
	cfg.SecureCookies = cfg.SecureCookies || cfg.tls() // as loadConfig does
	addr := serveWeb(t, cfg)
	client := func(tc *tls.Config) *http.Client {
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
	}

	resp, err := client(&tls.Config{RootCAs: pool}).Get("https://" + addr + "/console/signin")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Fatalf("HTTPS sign-in page: status %d, TLS %+v", resp.StatusCode, resp.TLS)
	}
	if got := resp.Header.Get("Strict-Transport-Security"); !strings.Contains(got, "max-age=31536000") {
		t.Errorf("Strict-Transport-Security = %q", got)
	}
	cookies := resp.Cookies()
	if len(cookies) == 0 {
		t.Fatal("the sign-in page set no cookie (its CSRF token)")
	}
	for _, c := range cookies {
		if !c.Secure {
			t.Errorf("cookie %s is not Secure over HTTPS", c.Name)
		}
	}

	t.Run("ErrTLS11Refused", func(t *testing.T) {
		_, err := client(&tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11}).Get("https://" + addr + "/console/signin")
		if err == nil {
			t.Fatal("a TLS 1.1 client was served")
		}
	})
	t.Run("ErrPlainHTTPRefused", func(t *testing.T) {
		resp, err := client(nil).Get("http://" + addr + "/console/signin")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Fatal("plain HTTP served a page on the TLS port")
			}
		}
	})

	t.Run("PlainWithoutCertificate", func(t *testing.T) {
		addr := serveWeb(t, testConfig())
		resp, err := http.Get("http://" + addr + "/console/signin")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Strict-Transport-Security") != "" {
			t.Fatalf("plain HTTP: status %d, HSTS %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
		}
	})
}

// TestRedirectToHTTPS checks the plain HTTP listener's answer: the same host and path
// over HTTPS, on the TLS port unless it is 443.
func TestRedirectToHTTPS(t *testing.T) {
	tests := []struct{ port, host, target, want string }{
		{"8443", "dimos.example:8080", "/console/inbox?tab=mine", "https://dimos.example:8443/console/inbox?tab=mine"},
		{"443", "dimos.example", "/", "https://dimos.example/"},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest("GET", "http://"+tt.host+tt.target, nil)
		rec := httptest.NewRecorder()
		redirectToHTTPS(tt.port).ServeHTTP(rec, req)
		if rec.Code != http.StatusPermanentRedirect || rec.Header().Get("Location") != tt.want {
			t.Errorf("%s%s: %d %q, want %q", tt.host, tt.target, rec.Code, rec.Header().Get("Location"), tt.want)
		}
	}
}

// TestConfigTLS checks that the certificate comes with its key, and that TLS makes
// cookies Secure whatever DIMOS_SECURE_COOKIES says.
func TestConfigTLS(t *testing.T) {
	t.Setenv("DIMOS_TLS_CERT", "/etc/dimos/cert.pem")
	t.Setenv("DIMOS_SECURE_COOKIES", "false")
	if _, err := loadConfig(); err == nil || !strings.Contains(err.Error(), "DIMOS_TLS_KEY") {
		t.Fatalf("certificate without key: %v", err)
	}
	t.Setenv("DIMOS_TLS_KEY", "/etc/dimos/key.pem")
	cfg, err := loadConfig()
	if err != nil || !cfg.tls() || !cfg.SecureCookies {
		t.Fatalf("with certificate and key: tls %v, secure cookies %v, %v", cfg.tls(), cfg.SecureCookies, err)
	}
}
