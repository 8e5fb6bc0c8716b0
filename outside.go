package dimos

import (
	"context"
	"time"
)

// The outside systems dimos talks to: mail, SMS and the municipality's protocol
// (document registry). Each sits behind one small interface so that tests and
// simulators can stand in for the real thing.

// Mail is one e-mail message. Key identifies the event it tells of, so that the same
// event never makes two different messages; the mailer derives the Message-ID from it.
type Mail struct {
	To      []string
	Subject string
	Text    string // plain text body, UTF-8
	HTML    string // optional HTML alternative
	Key     string
}

// Mailer sends e-mail. An error means the message may not have been accepted and the
// caller should retry; a permanently bad address is an *Error with EINVALID.
type Mailer interface {
	SendMail(ctx context.Context, m Mail) error
}

// SMS is one text message. Key identifies the event; gateways that support it use it
// to drop a repeated send.
type SMS struct {
	To   string // international form, e.g. +306900000000
	Text string
	Key  string
}

// SMSGateway sends text messages. An error means retry; an *Error with EINVALID
// means the gateway refused the message for good (e.g. a bad number).
type SMSGateway interface {
	SendSMS(ctx context.Context, m SMS) error
}

// ProtocolRequest asks the municipality's protocol to register an incoming document
// (M11). CaseNumber is the idempotency key: registering the same case twice returns
// the first entry, so a retried registration never takes a second protocol number.
type ProtocolRequest struct {
	CaseNumber string
	Kind       Kind
	Subject    string
	Applicant  string // full name, or empty for anonymous
	Service    string // code of the responsible service
	ReceivedAt time.Time
}

// ProtocolEntry is what the protocol gives back: the protocol number and its date.
type ProtocolEntry struct {
	Number string
	Date   time.Time
}

// ProtocolRegistry registers documents in the municipality's protocol. An error with
// code EUNAVAILABLE (or any error without a code) means "not now, retry"; EINVALID
// means the registry refused the request for good.
type ProtocolRegistry interface {
	Register(ctx context.Context, r ProtocolRequest) (ProtocolEntry, error)
}
