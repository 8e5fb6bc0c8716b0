package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"golang.org/x/crypto/bcrypt"

	"dimos"
)

// DemoPassword is the password of every demo account. It exists only in demo data,
// which `dimos dev` and `dimos seed --demo` load; production loads none.
const DemoPassword = "dimos-demo"

// DemoService is one department of the demo municipality with its staff.
type DemoService struct {
	Code, NameEL, NameEN, Email string
	Staff                       []DemoEmployee // the first one with RoleDirector directs it
}

// DemoEmployee is a demo sign-in.
type DemoEmployee struct {
	Username, FullName, Email, Phone string
	Role                             dimos.Role
}

// DemoCategory is a demo category, the service code responsible for it and its clocks.
type DemoCategory struct {
	Code, NameEL, NameEN string
	Kinds                []dimos.Kind
	Service              string
	Targets              dimos.Targets
	AutoAssign           bool
}

// Demo clocks, in working days: faults that endanger people are assigned within a
// day; certificates are issued within a week; everything within the statutory 50.
var (
	urgent      = dimos.Targets{AssignDays: 1, ResponseDays: 2, CompletionDays: 10, StatutoryDays: 50, InfoReplyDays: 15}
	ordinary    = dimos.Targets{AssignDays: 2, ResponseDays: 5, CompletionDays: 30, StatutoryDays: 50, InfoReplyDays: 15}
	certificate = dimos.Targets{AssignDays: 1, ResponseDays: 2, CompletionDays: 5, StatutoryDays: 50, InfoReplyDays: 10}
)

var (
	named = []dimos.Kind{dimos.KindRequest, dimos.KindComplaint}
	all   = []dimos.Kind{dimos.KindRequest, dimos.KindComplaint, dimos.KindSuggestion}
	cert  = []dimos.Kind{dimos.KindCertificate}
)

// DemoServices are the demo municipality's departments and people.
var DemoServices = []DemoService{
	{"tech", "Τεχνικές Υπηρεσίες", "Technical Services", "tech@dimos.example", []DemoEmployee{
		{"tech.director", "Γεώργιος Παπαδόπουλος", "g.papadopoulos@dimos.example", "2310000101", dimos.RoleDirector},
		{"tech.clerk1", "Μαρία Ιωάννου", "m.ioannou@dimos.example", "2310000102", dimos.RoleClerk},
		{"tech.clerk2", "Νικόλαος Γεωργίου", "n.georgiou@dimos.example", "2310000103", dimos.RoleClerk},
	}},
	{"water", "Ύδρευση και Αποχέτευση", "Water and Sewerage", "water@dimos.example", []DemoEmployee{
		{"water.director", "Αθανάσιος Μαυρίδης", "a.mavridis@dimos.example", "2310000201", dimos.RoleDirector},
		{"water.clerk1", "Ευαγγελία Τσολάκη", "e.tsolaki@dimos.example", "2310000202", dimos.RoleClerk},
		{"water.clerk2", "Χρήστος Καραγιάννης", "ch.karagiannis@dimos.example", "2310000203", dimos.RoleClerk},
	}},
	{"clean", "Καθαριότητα και Πράσινο", "Cleaning and Green Spaces", "clean@dimos.example", []DemoEmployee{
		{"clean.director", "Ελένη Κωνσταντίνου", "e.konstantinou@dimos.example", "2310000301", dimos.RoleDirector},
		{"clean.clerk1", "Δημήτριος Νικολάου", "d.nikolaou@dimos.example", "2310000302", dimos.RoleClerk},
		{"clean.clerk2", "Σοφία Αθανασίου", "s.athanasiou@dimos.example", "2310000303", dimos.RoleClerk},
	}},
	{"registry", "Δημοτολόγιο και Ληξιαρχείο", "Civil Registry", "registry@dimos.example", []DemoEmployee{
		{"registry.director", "Αικατερίνη Δημητρίου", "a.dimitriou@dimos.example", "2310000401", dimos.RoleDirector},
		{"registry.clerk1", "Αντώνιος Βασιλείου", "a.vasileiou@dimos.example", "2310000402", dimos.RoleClerk},
		{"registry.clerk2", "Άννα Χριστοδούλου", "a.christodoulou@dimos.example", "2310000403", dimos.RoleClerk},
	}},
	{"finance", "Οικονομικές Υπηρεσίες", "Financial Services", "finance@dimos.example", []DemoEmployee{
		{"finance.director", "Παναγιώτης Μακρής", "p.makris@dimos.example", "2310000501", dimos.RoleDirector},
		{"finance.clerk1", "Ιωάννα Σταματίου", "i.stamatiou@dimos.example", "2310000502", dimos.RoleClerk},
		{"finance.clerk2", "Κωνσταντίνος Αλεξίου", "k.alexiou@dimos.example", "2310000503", dimos.RoleClerk},
	}},
	{"citizens", "Γραφείο Εξυπηρέτησης Πολιτών", "Citizens' Service Office", "citizens@dimos.example", []DemoEmployee{
		{"citizens.director", "Βασιλική Οικονόμου", "v.oikonomou@dimos.example", "2310000601", dimos.RoleDirector},
		{"desk", "Θεόδωρος Λαμπρίδης", "t.lampridis@dimos.example", "2310000602", dimos.RoleDesk},
		{"manager", "Ιφιγένεια Ραπτοπούλου", "i.raptopoulou@dimos.example", "2310000603", dimos.RoleManager},
		{"admin", "Σπυρίδων Αγγελόπουλος", "s.angelopoulos@dimos.example", "2310000604", dimos.RoleAdmin},
	}},
}

// DemoCategories are categories from the seeds (M6, M7).
var DemoCategories = []DemoCategory{
	{"potholes", "Λακκούβες στο οδόστρωμα", "Potholes in the road", named, "tech", urgent, false},
	{"street-lighting", "Οδοφωτισμός", "Street lighting", named, "tech", urgent, false},
	{"pavements", "Πεζοδρόμια και κακοτεχνίες", "Pavements and bad workmanship", named, "tech", ordinary, false},
	{"water-fault", "Βλάβη δικτύου ύδρευσης", "Water network fault", named, "water", urgent, false},
	{"sewerage", "Αποχέτευση και φρεάτια", "Sewerage and drains", named, "water", urgent, false},
	{"cleaning", "Καθαριότητα κοινόχρηστων χώρων", "Cleaning of public spaces", named, "clean", ordinary, false},
	{"waste-collection", "Αποκομιδή απορριμμάτων", "Waste collection", named, "clean", ordinary, false},
	{"bulky-items", "Αποκομιδή ογκωδών αντικειμένων", "Bulky item pick-up", []dimos.Kind{dimos.KindRequest}, "clean", ordinary, false},
	{"green-spaces", "Πράσινο και κλαδέματα", "Parks and tree pruning", named, "clean", ordinary, false},
	{"municipal-fees", "Δημοτικά τέλη", "Municipal fees", named, "finance", ordinary, false},
	{"general", "Γενικά θέματα και προτάσεις", "General matters and suggestions", all, "citizens", ordinary, false},
	{"cert-family", "Πιστοποιητικό οικογενειακής κατάστασης", "Family status certificate", cert, "registry", certificate, true},
	{"cert-birth", "Πιστοποιητικό γέννησης", "Birth certificate", cert, "registry", certificate, true},
	{"cert-residence", "Βεβαίωση μόνιμης κατοικίας", "Certificate of permanent residence", cert, "registry", certificate, true},
	{"cert-tap", "Βεβαίωση μη οφειλής ΤΑΠ", "Certificate of no property levy (ΤΑΠ) debt", cert, "finance", certificate, true},
}

// SeedDemo loads the demo municipality. It is idempotent: running it again updates the
// same rows and leaves cases alone.
func (db *DB) SeedDemo(ctx context.Context) error {
	hash, err := bcrypt.GenerateFromPassword([]byte(DemoPassword), bcrypt.DefaultCost)
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		for _, s := range DemoServices {
			var sid int64
			err := tx.QueryRow(ctx, `INSERT INTO services (code, name_el, name_en, email) VALUES ($1, $2, $3, $4)
				ON CONFLICT (code) DO UPDATE SET name_el = excluded.name_el, name_en = excluded.name_en, email = excluded.email
				RETURNING id`, s.Code, s.NameEL, s.NameEN, s.Email).Scan(&sid)
			if err != nil {
				return fmt.Errorf("service %s: %w", s.Code, err)
			}
			for _, e := range s.Staff {
				var eid int64
				err := tx.QueryRow(ctx, `INSERT INTO employees (username, full_name, email, phone, service_id, role, password_hash)
					VALUES ($1, $2, $3, $4, $5, $6, $7)
					ON CONFLICT (username) DO UPDATE SET full_name = excluded.full_name, email = excluded.email,
						phone = excluded.phone, service_id = excluded.service_id, role = excluded.role
					RETURNING id`, e.Username, e.FullName, e.Email, e.Phone, sid, e.Role, string(hash)).Scan(&eid)
				if err != nil {
					return fmt.Errorf("employee %s: %w", e.Username, err)
				}
				if e.Role == dimos.RoleDirector {
					if _, err := tx.Exec(ctx, `UPDATE services SET director_id = $2 WHERE id = $1`, sid, eid); err != nil {
						return err
					}
				}
			}
		}
		for i, c := range DemoCategories {
			kinds := make([]string, len(c.Kinds))
			for j, k := range c.Kinds {
				kinds[j] = string(k)
			}
			t := c.Targets
			_, err := tx.Exec(ctx, `INSERT INTO categories (code, name_el, name_en, kinds, service_id, sort,
					target_assign_days, target_response_days, target_completion_days, statutory_days, info_reply_days, auto_assign)
				SELECT $1, $2, $3, $4, id, $6, $7, $8, $9, $10, $11, $12 FROM services WHERE code = $5
				ON CONFLICT (code) DO UPDATE SET name_el = excluded.name_el, name_en = excluded.name_en,
					kinds = excluded.kinds, service_id = excluded.service_id, sort = excluded.sort`,
				c.Code, c.NameEL, c.NameEN, kinds, c.Service, i*10, t.AssignDays, t.ResponseDays,
				t.CompletionDays, t.StatutoryDays, t.InfoReplyDays, c.AutoAssign)
			if err != nil {
				return fmt.Errorf("category %s: %w", c.Code, err)
			}
		}
		return nil
	})
}
