package notify_test

import (
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/notify"
)

func TestAdhocFastServer(t *testing.T) {
	pkg, _ := filepath.Abs(filepath.Join(nodeModules, "smtp-server"))
	port := freePort(t)
	js := `const {SMTPServer}=require(process.argv[1]);new SMTPServer({disableReverseLookup:true,hideSTARTTLS:true,authOptional:true,logger:false,onData(s,_,cb){s.resume();s.on('end',cb)}}).listen(Number(process.argv[2]),'127.0.0.1')`
	_, exited, out := startProcess(t, exec.Command("node", "-e", js, pkg, strconv.Itoa(port)))
	waitPort(t, port, exited, out)
	s := newSMTP(t, notify.SMTPConfig{Host: "127.0.0.1", Port: port, TLS: notify.TLSNone, From: "a@acme.example"})
	m := renderLoginCode(t, "x@example.com", "123456")
	sent := make(chan time.Duration, 1000)
	q := notify.NewQueue(s, nil, nil, notify.QueueOptions{OnSent: func(_ string, d time.Duration) { sent <- d }})
	var tot time.Duration
	for range 200 {
		q.Email(m)
		tot += <-sent
	}
	t.Logf("sequential: %.2f ms/msg", float64(tot.Microseconds())/1000/200)
	start := time.Now()
	for range 200 {
		q.Email(m)
	}
	for range 200 {
		<-sent
	}
	t.Logf("burst: %.0f msgs/s", 200/time.Since(start).Seconds())
}
