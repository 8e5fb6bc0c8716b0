package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"dimos"
	"dimos/i18n"
	"dimos/notify"
)

// Audience is who a notification goes to.
type Audience string

const (
	ToCitizen  Audience = "citizen"  // e-mail and SMS to the case's contact (M16)
	ToAssignee Audience = "assignee" // e-mail to the employee holding the case
	ToDirector Audience = "director" // e-mail to the director of the holding service (M10)
	ToManagers Audience = "managers" // e-mail to every manager
)

// NotifyInput asks for one event to be told. Key identifies the event within the case;
// together with the case number it makes every send idempotent.
type NotifyInput struct {
	CaseID    int64
	Number    string
	Event     string // a notify.Event… constant
	Key       string
	To        Audience
	Comment   string
	Reason    string
	ReasonKey string // a catalogue key, translated for the reader
	DueDate   time.Time
	ReplyBy   time.Time
	// OriginalNumber is the case a merged case now follows (notify.EventCaseMerged).
	OriginalNumber string
}

// Notify renders an event from the templates and sends it by e-mail (and, to a
// citizen, by SMS), naming the employee who holds the case. Each channel and recipient
// is recorded when sent, so a retry after a partial failure sends only what is
// missing; a recipient the server refuses for good is logged and skipped, since
// retrying cannot help. A failure of the server is returned, and the activity retried.
func (a *Activities) Notify(ctx context.Context, in NotifyInput) error {
	c, err := a.Cases.CaseByNumber(ctx, in.Number)
	if err != nil {
		return refusal(err)
	}
	type recipient struct {
		name, email, phone, lang string
		// follower is the case of a follower: a citizen whose merged case this one
		// carries, told as the case's own citizen is, under a key of their own.
		follower string
	}
	var to []recipient
	switch in.To {
	case ToCitizen:
		if !c.Anonymous {
			to = append(to, recipient{name: c.Contact.FullName(), email: c.Contact.Email, phone: c.Contact.Phone, lang: c.Lang})
		}
		if a.Merges != nil {
			followers, err := a.Merges.CaseFollowers(ctx, c.ID)
			if err != nil {
				return err
			}
			for _, f := range followers {
				to = append(to, recipient{name: f.Contact.FullName(), email: f.Contact.Email, phone: f.Contact.Phone, lang: f.Lang, follower: f.CaseNumber})
			}
		}
	case ToAssignee:
		if e, err := a.employee(ctx, c.AssigneeID); err != nil {
			return err
		} else if e != nil {
			to = append(to, recipient{name: e.FullName, email: e.Email, lang: i18n.Greek})
		}
	case ToDirector:
		if r, err := a.Directory.RoutingForService(ctx, c.ServiceID); err != nil && dimos.ErrorCode(err) != dimos.ENOTFOUND {
			return err
		} else if e, err := a.employee(ctx, r.DirectorID); err != nil {
			return err
		} else if e != nil {
			to = append(to, recipient{name: e.FullName, email: e.Email, lang: i18n.Greek})
		}
	case ToManagers:
		managers, err := a.Directory.EmployeesByRole(ctx, dimos.RoleManager)
		if err != nil {
			return err
		}
		for _, e := range managers {
			to = append(to, recipient{name: e.FullName, email: e.Email, lang: i18n.Greek})
		}
	default:
		return refusal(fmt.Errorf("unknown audience %q", in.To))
	}
	if len(to) == 0 {
		return nil
	}
	data, err := a.notifyData(ctx, c, in)
	if err != nil {
		return err
	}
	var failed []error
	for _, r := range to {
		data.RecipientName = r.name
		data.CitizenName = c.Contact.FullName()
		if r.follower != "" {
			data.CitizenName = r.name
		}
		if in.ReasonKey != "" {
			data.Reason = i18n.T(r.lang, in.ReasonKey)
		}
		data.Category, data.Service = a.names(ctx, c, r.lang)
		msg, err := notify.Render(in.Event, r.lang, data)
		if err != nil {
			return refusal(err)
		}
		key := in.Number + "/" + in.Key + "/" + string(in.To)
		switch {
		case in.To == ToManagers:
			key += "/" + r.email
		case r.follower != "":
			key += "/" + r.follower
		}
		// Every channel is tried whatever the others do: a mail server that is down
		// must not hold up the citizen's SMS (nor the other recipients). The retry
		// sends only what is still missing.
		if r.email != "" {
			failed = append(failed, a.send(ctx, key, "email", r.email, func() error {
				return a.Mailer.SendMail(ctx, msg.Mail(key, r.email))
			}))
		}
		if in.To == ToCitizen && r.phone != "" && msg.SMS != "" && a.SMS != nil {
			phone, ok := notify.NormalizeGreekPhone(r.phone)
			if !ok {
				a.log().Warn("citizen phone cannot take an SMS", "case", c.Number)
				continue
			}
			failed = append(failed, a.send(ctx, key, "sms", phone, func() error {
				return a.SMS.SendSMS(ctx, msg.SMSTo(key, phone))
			}))
		}
	}
	return errors.Join(failed...)
}

// send sends once per key and channel. The check, the send and its record are one
// step for the key and channel within this process (see sending): a local try of the
// notification that the workflow gave up on may still be running when the ordinary
// activity that took over arrives here, and it must find the record, not send again.
func (a *Activities) send(ctx context.Context, key, channel, recipient string, send func() error) error {
	unlock := sending.lock(key + "\x00" + channel)
	defer unlock()
	sent, err := a.Notifications.NotificationSent(ctx, key, channel)
	if err != nil || sent {
		return err
	}
	if err := send(); err != nil {
		if dimos.ErrorCode(err) == dimos.EINVALID {
			a.log().Warn("notification refused for good; not retrying", "key", key, "channel", channel, "err", err)
			return nil
		}
		return fmt.Errorf("send %s %s: %w", channel, key, err)
	}
	// Sent: the record is written even when the caller's time ran out meanwhile (a
	// local try lasts seconds), since without it a retry would send again.
	return a.markSent(context.WithoutCancel(ctx), key, channel, recipient)
}

// markPatience bounds how long a sent notification waits for its record: within the
// notification activities' minute, so the retry is still the activity's own.
const markPatience = 45 * time.Second

// markSent records a notification that went out. Once it went out the record must
// not be given up lightly: the activity's retry would send it again, and a mail
// server cannot tell a duplicate. So a database that is down for a moment (a restart,
// a failover) is waited for, with back-off, up to markPatience or the end of ctx.
func (a *Activities) markSent(ctx context.Context, key, channel, recipient string) error {
	giveUp := time.Now().Add(markPatience)
	wait := 100 * time.Millisecond
	for {
		err := a.Notifications.MarkNotificationSent(ctx, key, channel, recipient, a.now())
		if err == nil || ctx.Err() != nil || time.Now().Add(wait).After(giveUp) {
			return err
		}
		a.log().Warn("notification sent but not recorded; retrying the record", "key", key, "channel", channel, "err", err)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

func (a *Activities) employee(ctx context.Context, id int64) (*dimos.Employee, error) {
	if id == 0 {
		return nil, nil
	}
	e, err := a.Directory.EmployeeByID(ctx, id)
	if dimos.ErrorCode(err) == dimos.ENOTFOUND {
		return nil, nil
	}
	return e, err
}

// notifyData gathers what every template may show, the handling employee included
// (M16: name, phone, e-mail).
func (a *Activities) notifyData(ctx context.Context, c *dimos.Case, in NotifyInput) (notify.Data, error) {
	d := notify.Data{
		Municipality: a.Municipality, CaseNumber: c.Number, Kind: string(c.Kind), Channel: string(c.Channel),
		Subject: c.Subject, Text: c.Text, DesiredAction: c.DesiredAction, Answer: c.Answer,
		Comment: in.Comment, Reason: in.Reason, ProtocolNumber: c.Protocol.Number, ProtocolDate: c.Protocol.Date,
		DueDate: in.DueDate, ReplyBy: in.ReplyBy, SubmittedAt: c.SubmittedAt, OriginalNumber: in.OriginalNumber,
	}
	if d.DueDate.IsZero() {
		d.DueDate = c.DueDate
	}
	if a.PortalURL != "" {
		d.TrackURL = strings.TrimRight(a.PortalURL, "/") + "/cases/" + c.Number
	}
	if a.ConsoleURL != "" {
		d.ConsoleURL = strings.TrimRight(a.ConsoleURL, "/") + "/cases/" + c.Number
	}
	e, err := a.employee(ctx, c.AssigneeID)
	if err != nil {
		return d, err
	}
	if e != nil {
		d.Employee = notify.Person{Name: e.FullName, Phone: e.Phone, Email: e.Email}
	}
	return d, nil
}

// names returns the category's and service's names in the reader's language; a
// missing one is left empty rather than failing a notification.
func (a *Activities) names(ctx context.Context, c *dimos.Case, lang string) (category, service string) {
	if cat, err := a.Directory.CategoryByCode(ctx, c.CategoryCode); err == nil {
		category = cat.NameEL
		if lang == i18n.English {
			category = cat.NameEN
		}
	}
	if c.ServiceID != 0 {
		if s, err := a.Directory.ServiceByID(ctx, c.ServiceID); err == nil {
			service = s.NameEL
			if lang == i18n.English {
				service = s.NameEN
			}
		}
	}
	return category, service
}

// sending holds the notification keys and channels being sent in this process.
var sending = keyLocks{held: map[string]*keyLock{}}

// keyLocks is a mutex per key, made when first wanted and dropped when nobody holds
// or waits for it. It serialises the runs of one notification within a process: a
// local try past its deadline and the activity that took over (the server hands that
// to a worker of the task queue, with one worker process this one), or an activity and
// its retry. A run in another process is not held back; there the record alone keeps
// the second run from sending, as it always did.
type keyLocks struct {
	mu   sync.Mutex
	held map[string]*keyLock
}

type keyLock struct {
	sync.Mutex
	users int // holding or waiting
}

// lock takes key's mutex and returns its release.
func (k *keyLocks) lock(key string) (unlock func()) {
	k.mu.Lock()
	l := k.held[key]
	if l == nil {
		l = &keyLock{}
		k.held[key] = l
	}
	l.users++
	k.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		k.mu.Lock()
		if l.users--; l.users == 0 {
			delete(k.held, key)
		}
		k.mu.Unlock()
	}
}
