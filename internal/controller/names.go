package controller

import (
	"crypto/sha256"
	"strconv"
	"strings"
)

// suffixAlphabet is what Kubernetes draws generated name suffixes and
// pod-template hashes from (k8s.io/apimachinery/pkg/util/rand): lowercase
// consonants and digits, so that no words are spelled by accident.
const suffixAlphabet = "bcdfghjklmnpqrstvwxz2456789"

// maxGeneratedNameLength is how long a generateName prefix may be before the
// API server cuts it (63 minus the 5 random characters).
const maxGeneratedNameLength = 63 - 5

// hashSuffix returns n characters of suffixAlphabet determined by parts,
// standing in for the random ones a cluster would pick.
func hashSuffix(n int, parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	b := make([]byte, n)
	for i := range b {
		b[i] = suffixAlphabet[int(sum[i%len(sum)])%len(suffixAlphabet)]
	}
	return string(b)
}

// generateName mimics metadata.generateName: prefix, cut to leave room,
// plus a 5 character suffix determined by parts.
func generateName(prefix string, parts ...string) string {
	if len(prefix) > maxGeneratedNameLength {
		prefix = prefix[:maxGeneratedNameLength]
	}
	return prefix + hashSuffix(5, append([]string{prefix}, parts...)...)
}

// indexedJobPodPrefix is the generateName of an Indexed Job's pod
// (pkg/controller/job podGenerateNameWithIndex).
func indexedJobPodPrefix(job string, index int) string {
	suffix := "-" + strconv.Itoa(index) + "-"
	prefix := job + suffix
	if len(prefix) > maxGeneratedNameLength {
		prefix = prefix[:maxGeneratedNameLength-len(suffix)] + suffix
	}
	return prefix
}
