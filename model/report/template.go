package report

import (
	"html/template"
	"strconv"
)

var tmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct": func(f float64) string { return template.HTMLEscapeString(fmtPct(f)) },
	"f4":  func(f float64) string { return fmtF(f, 4) },
	"inc": func(i int) int { return i + 1 },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.In.Title}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: .9em; } td, th { padding: .2em .8em; text-align: left; border-bottom: 1px solid #eee; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.best { background: #eef7ee; font-weight: 600; }
figure { margin: 1em 0; } figure img { max-width: 100%; } figcaption { color: #555; font-size: .9em; }
.small { color: #666; font-size: .85em; }
</style>
</head>
<body>
<h1>{{.In.Title}}</h1>
<p class="small">Generated {{.In.Generated.Format "2006-01-02 15:04:05 MST"}}.</p>

<h2>Summary</h2>
<table id="summary">
<tr><th>items</th><td class="n">{{.Stats.Items}}</td></tr>
<tr><th>items with a list</th><td class="n">{{.Stats.WithList}}</td></tr>
<tr><th>neighbours published</th><td class="n">{{.Stats.Entries}}</td></tr>
<tr><th>mean list length</th><td class="n">{{printf "%.1f" .Stats.MeanLen}}</td></tr>
<tr><th>catalog coverage (items appearing in some list)</th><td class="n">{{pct .Stats.Coverage}}</td></tr>
<tr><th>share of neighbours that are top-10% popular items</th><td class="n">{{pct .Stats.TopDecileShare}}</td></tr>
{{range .Counts}}<tr><th>{{.K}}</th><td class="n">{{.V}}</td></tr>
{{end}}</table>

<h2>Parameters</h2>
<table id="parameters">
{{range .Params}}<tr><th>{{.K}}</th><td>{{.V}}</td></tr>
{{end}}</table>

{{if .In.Eval}}<h2>Evaluation</h2>
<table id="eval">
<tr><th>model</th><th>precision@k</th><th>recall@k</th><th>ndcg@k</th><th>map</th><th>map@k</th><th>coverage</th><th>mean popularity</th></tr>
{{range .In.Eval}}<tr{{if .Best}} class="best"{{end}}><td>{{.Name}}{{if .Best}} (best){{end}}</td><td class="n">{{f4 .Precision}}</td><td class="n">{{f4 .Recall}}</td><td class="n">{{f4 .NDCG}}</td><td class="n">{{f4 .MAP}}</td><td class="n">{{f4 .MAPAtK}}</td><td class="n">{{pct .Coverage}}</td><td class="n">{{f4 .MeanPopularity}}</td></tr>
{{end}}</table>
{{with .Eval}}<figure id="{{.ID}}">
<img class="plot" alt="{{.Title}}" src="{{.PNG}}">
<figcaption>{{.Title}}. {{.Caption}}</figcaption>
</figure>{{end}}
{{end}}

<h2>Plots</h2>
{{if .In.Others}}<p class="small">Lists of {{.In.Name}}{{range .In.Others}}, {{.Name}}{{end}}, overlaid; the summary and sample lists are {{.In.Name}}'s.</p>{{end}}
{{range .Plots}}<figure id="{{.ID}}">
<img class="plot" alt="{{.Title}}" src="{{.PNG}}">
<figcaption>{{.Title}}. {{.Caption}}</figcaption>
</figure>
{{end}}

<h2>Sample lists</h2>
<p class="small">The most popular items and their top neighbours{{if .In.Names}}, with names from the item catalog{{end}}.</p>
{{range .Samples}}<h3>{{.Item}}{{if .Name}} — {{.Name}}{{end}} <span class="small">({{printf "%.0f" .Users}} users)</span></h3>
<table class="sample">
<tr><th>#</th><th>item</th>{{if $.In.Names}}<th>name</th>{{end}}<th>score</th></tr>
{{range $i, $n := .Neighbors}}<tr><td class="n">{{inc $i}}</td><td>{{$n.Item}}</td>{{if $.In.Names}}<td>{{$n.Name}}</td>{{end}}<td class="n">{{f4 $n.Score}}</td></tr>
{{end}}</table>
{{end}}
</body>
</html>
`))

func fmtPct(f float64) string { return strconv.FormatFloat(100*f, 'f', 1, 64) + "%" }

func fmtF(f float64, prec int) string { return strconv.FormatFloat(f, 'f', prec, 64) }
