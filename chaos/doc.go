// Package chaos holds the fault tests of dimos: they build the real dimos binary, run
// its processes (the Temporal server, the worker, the console, the protocol registry
// simulator) against PostgreSQL, a mail server and an SMS gateway, break one of them in
// the middle of a run — kill -9 the worker, stop Temporal during intake, restart
// PostgreSQL, take the protocol registry or the mail server down for a long stretch —
// and then check that every accepted case completes, that no mail, SMS or protocol
// number went out twice, and that no stage-timing row was lost or doubled.
//
// The tests carry the build tag chaos: `make chaos` runs them (go test -tags chaos
// ./chaos/). A server a scenario needs that is missing fails it; nothing is skipped.
//
// # The cluster
//
// Every scenario starts its own: `dimos temporal` (SQLite under a temporary data
// directory, so its state survives a restart of the process), `dimos worker`, `dimos
// console` and `dimos protocol-sim` as processes of the binary built once by TestMain,
// a real SMTP server in the test process on a fixed loopback address (it can be stopped
// and started again there), the SMS gateway simulator over HTTP, and a database of its
// own (pgtest) seeded with the demo municipality. Complaints are filed through the
// citizen API (201 with a number: accepted); certificate applications at the service
// desk (stored, then started by the console's starter sweep).
//
// # Ports
//
// Each process listens on a loopback port the harness picks (portPicker) and hands
// it in its command line or environment. The port is free when picked but not held,
// since another program binds it later, so something else could take it in between:
// once a console found its port taken and make test failed. Two defences. The ports
// are picked at random outside the kernel's ephemeral range, where every listener on
// port 0 and every outgoing connection on the machine gets its port (the tests of
// other packages running at the same time, Temporal's own internal ports), so only a
// process that chose the same fixed port can take one. And a process that exits
// because its port was taken ("address already in use" in its log, or in
// PostgreSQL's) is started again, at most five times: at its first start on a new
// port, since no other process knows the address yet; at a restart (Temporal after
// its outage, the mail server, the private PostgreSQL) on the same port after a
// pause, since the others know only that one. A process has started once it holds a
// listening socket on its port itself (from /proc: a rival's socket would answer a
// connection just as well), Temporal once it logs that it is ready. The worker
// listens on nothing; the SMS gateway is an httptest server in the test, which holds
// its listener from the start. TestPortTakenAtStart takes the first port picked for
// each of them, and each port again at its restart, and checks that all start anyway.
//
// # Driving the cases to the end
//
// Once the fault is over, each case must reach the stage where it waits for staff
// (a complaint: routed, with the director; a certificate: assigned, to the clerk the
// workflow picked once it was registered in the protocol), first in the database and
// then in its workflow (the test asks the workflow's state query, as the console does).
// Then its holder signs in to the console, opens the case page and posts the
// completion form with the page's CSRF token: it must be accepted at the first try
// (303, then the page shows the answer), and the case must be completed in the
// database.
//
// # What every scenario asserts (verify)
//
//   - Every accepted case is completed.
//   - Mail, from the SMTP server's own store, by Message-ID (derived from the
//     notification's key): every mail the path implies arrived (received, routed to the
//     director, completed; for a certificate also protocol registered and assigned),
//     exactly once; nothing else arrived, except the optional "registration pending"
//     notice of a certificate, at most once. The one exception is SMTP's own limit, in
//     TestWorkerKilled: a mail the server accepted from the worker just before kill -9,
//     before the worker recorded it as sent, is sent again by the next worker (same
//     Message-ID, so mail clients show it once). A second copy passes only if the
//     first arrived before the kill and the second after the restart (logged); any
//     other second copy, or a third, fails.
//   - SMS, from the gateway simulator's store, by key: the citizen's SMS of the same
//     events exactly once, none other. The simulator must have answered no send as a
//     duplicate of an earlier reference, except in TestWorkerKilled: a worker killed
//     between the gateway's answer and the record of the send makes the retry send
//     again under the same reference, which the gateway answers as a duplicate
//     without sending (the count is logged).
//   - Stage timings, from the database: the rows of each case are exactly the stages of
//     its path (received, routed, completed; for a certificate received,
//     awaiting_protocol, routed, assigned, completed), numbered 1…n without a gap, all
//     closed but the last; and there are as many stage-moving timeline events as rows,
//     so no row was written twice or lost.
//   - Protocol numbers: every certificate application has one, no two share it, each
//     has exactly one protocol_registered event, and the registry simulator holds as
//     many registrations as there are applications.
//
// # The scenarios
//
// TestWorkerKilled: 6 complaints and 3 applications, the protocol registry answering
// after 4 s (and registering even when its caller has gone); once the first case has
// left intake and a registration is under way, the worker is killed (SIGKILL) in the
// middle of it, and the test fails if no case was in flight; 3 complaints and 1
// application are accepted while it is dead; after 2 s a new worker starts. Activities
// the dead worker held time out and are retried by the new one; their writes are keyed
// (case and stage sequence, notification key and channel, case number at the
// registry), so the retries write and send nothing twice.
//
// TestTemporalStoppedDuringIntake: 4 complaints and 1 application; once the first case
// has its workflow the Temporal server is killed, the others in flight or not yet
// started; 6 complaints and 2 applications are
// accepted while it is down, and the console's health must say degraded; after 3 s it
// starts again from its SQLite file. The starter's sweep gives the cases accepted
// meanwhile their workflows; the workflows started before run on.
//
// TestPostgresRestarted: on a private PostgreSQL cluster (initdb in a temporary
// directory, its own port; the machine's server is never touched), 6 complaints and 2
// applications; once the first case has its workflow the server is stopped in
// immediate mode (no checkpoint: crash recovery at the next start); the console's health must say
// unavailable; after 5 s it starts again, the console must report healthy within a
// minute, and 3 more complaints are accepted. Activities that failed meanwhile retry.
//
// TestProtocolRegistryDown: the registry simulator fails every request; 4
// applications and 3 complaints. Each application must wait in awaiting_protocol with
// the citizen's "registration pending" SMS sent; 25 s later the registry must have been
// tried again and hold no registration, and no application may have moved or got a
// number. Then the registry works again and every application gets exactly one number.
//
// TestMailServerDown: the SMTP server is stopped before any case; 5 complaints and 1
// application. Every case must reach the stage where it waits for staff with its
// "received" SMS sent (the mail outage holds up neither the case nor the SMS); 10 s
// later the server must still have received nothing. Then it starts again on the same
// address, and every mail must arrive once.
//
// TestPortTakenAtStart: the harness itself (see Ports above); then a complaint and a
// certificate application through the cluster, verified as in every scenario.
package chaos
