package doctor

import (
	"slices"
	"strings"
)

// Shape is how a flowchart node is drawn: a step or a question.
type Shape int

// The shapes of the seed's flowchart.
const (
	// ShapeBox is a step or an outcome, drawn A["..."].
	ShapeBox Shape = iota
	// ShapeDecision is a question with labelled branches, drawn B{"..."}.
	ShapeDecision
)

// FlowNode is one node of the seed's flowchart.
type FlowNode struct {
	ID    string
	Label string
	Shape Shape
}

// FlowEdge is one arrow of the seed's flowchart; Label is the branch
// taken ("Yes", "SRV"), empty for an unconditional step.
type FlowEdge struct {
	From  string
	To    string
	Label string
}

// Chart is a flowchart as data: nodes in the order the seed defines them,
// then its edges in the seed's order.
type Chart struct {
	Nodes []FlowNode
	Edges []FlowEdge
}

// The node IDs of the seed's flowchart, named for what happens there, so a
// NameAt.Node can be set without spelling a bare letter.
const (
	NodeClientQuery     = "A" // Client queries CoreDNS
	NodeHeadless        = "B" // Service clusterIP=None?
	NodeClusterIPRecord = "C" // Return cluster IP A record
	NodeQueryType       = "D" // Query type?
	NodeReadyEndpoints  = "E" // Select Ready Endpoints
	NodeNamedPort       = "F" // Named port exists?
	NodeNXDOMAIN        = "G" // Return NXDOMAIN
	NodeSRVRecord       = "H" // Return SRV record with port and target FQDN
	NodeHostnameSet     = "I" // EndpointSlice hostname set?
	NodePodIPs          = "J" // Return pod IPs at Service name
	NodeHostnameRecord  = "K" // Return hostname.subdomain.namespace.svc.cluster.local
)

// Flowchart returns the seed's flowchart of how a headless Service name
// resolves. It is built anew on each call so no caller can change another's.
func Flowchart() Chart {
	return Chart{
		Nodes: []FlowNode{
			{NodeClientQuery, "Client queries CoreDNS", ShapeBox},
			{NodeHeadless, "Service clusterIP=None?", ShapeDecision},
			{NodeClusterIPRecord, "Return cluster IP A record", ShapeBox},
			{NodeQueryType, "Query type?", ShapeDecision},
			{NodeReadyEndpoints, "Select Ready Endpoints", ShapeBox},
			{NodeNamedPort, "Named port exists?", ShapeDecision},
			{NodeNXDOMAIN, "Return NXDOMAIN", ShapeBox},
			{NodeSRVRecord, "Return SRV record with port and target FQDN", ShapeBox},
			{NodeHostnameSet, "EndpointSlice hostname set?", ShapeDecision},
			{NodePodIPs, "Return pod IPs at Service name", ShapeBox},
			{NodeHostnameRecord, "Return hostname.subdomain.namespace.svc.cluster.local", ShapeBox},
		},
		Edges: []FlowEdge{
			{NodeClientQuery, NodeHeadless, ""},
			{NodeHeadless, NodeClusterIPRecord, "No"},
			{NodeHeadless, NodeQueryType, "Yes"},
			{NodeQueryType, NodeReadyEndpoints, "A/AAAA"},
			{NodeQueryType, NodeNamedPort, "SRV"},
			{NodeNamedPort, NodeNXDOMAIN, "No"},
			{NodeNamedPort, NodeSRVRecord, "Yes"},
			{NodeReadyEndpoints, NodeHostnameSet, ""},
			{NodeHostnameSet, NodePodIPs, "No"},
			{NodeHostnameSet, NodeHostnameRecord, "Yes"},
		},
	}
}

// NodeIDs returns the IDs of the flowchart's nodes, in order: the values a
// NameAt.Node may take.
func NodeIDs() []string {
	nodes := Flowchart().Nodes
	ids := make([]string, len(nodes))
	for i, n := range nodes {
		ids[i] = n.ID
	}
	return ids
}

// IsNode reports whether id is a node of the flowchart.
func IsNode(id string) bool { return slices.Contains(NodeIDs(), id) }

// NodeLabel returns the label of the node id, or "" if there is none.
func NodeLabel(id string) string {
	for _, n := range Flowchart().Nodes {
		if n.ID == id {
			return n.Label
		}
	}
	return ""
}

// highlightClass is the mermaid class a highlighted node is given. The
// style sets only the border: GitHub's dark mode overrides text colours.
const (
	highlightClass    = "fails"
	highlightClassDef = "classDef " + highlightClass + " stroke:#d73a49,stroke-width:3px"
)

// Mermaid renders the flowchart as mermaid "flowchart TD" text, with the
// node highlight (a node ID, or "" for none) outlined where a name's
// resolution goes wrong. An ID that is not a node highlights nothing.
// Every label is quoted so mermaid reads "?", "=", "/" and "." as text.
func Mermaid(highlight string) string {
	ch := Flowchart()
	var b strings.Builder
	b.WriteString("flowchart TD\n")
	for _, n := range ch.Nodes {
		open, closing := `["`, `"]`
		if n.Shape == ShapeDecision {
			open, closing = `{"`, `"}`
		}
		b.WriteString("    " + n.ID + open + mermaidText(n.Label) + closing + "\n")
	}
	for _, e := range ch.Edges {
		arrow := " --> "
		if e.Label != "" {
			arrow = ` -->|"` + mermaidText(e.Label) + `"| `
		}
		b.WriteString("    " + e.From + arrow + e.To + "\n")
	}
	if highlight != "" && IsNode(highlight) {
		b.WriteString("    " + highlightClassDef + "\n")
		b.WriteString("    class " + highlight + " " + highlightClass + "\n")
	}
	return b.String()
}

// mermaidText makes s safe inside a quoted mermaid label: mermaid reads
// "#name;" as an entity, so "#" and '"' become entity codes, and a label
// is one line.
func mermaidText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '#':
			b.WriteString("#35;")
		case '"':
			b.WriteString("#quot;")
		case '\r', '\n':
			b.WriteByte(' ')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
