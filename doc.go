// Package dimos holds the domain of the municipal back office: cases and their
// categories, the services (departments) and employees that handle them, the stages a
// case passes through and the errors every layer speaks. It imports nothing else of
// dimos, so every other package can depend on it.
package dimos
