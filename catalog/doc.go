// Package catalog is pgtriage's single source of knowledge about why PostgreSQL connections fail.
//
// Each [Cause] names one code of the contract in DESIGN.md with its category, whether it usually clears by itself
// (transient), a summary and numbered next steps. The steps are templates: {name} is replaced by a fact found during
// the diagnosis (see [Facts]) or, when the fact is unknown, by a phrase that tells the user what to look up.
// Managed services (Azure, Amazon RDS, Cloud SQL, Supabase, Neon) get their own steps where their answer differs.
//
// The probe, explain, watch and retry classify through [Classify] and [ClassifyError], so the same message gets the
// same answer everywhere.
//
// Start with [Lookup] to get a cause by code and [Cause.Steps] to render its steps for a set of facts.
package catalog
