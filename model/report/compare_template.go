package report

import "html/template"

var compareTmpl = template.Must(template.New("compare").Funcs(template.FuncMap{
	"inc": func(i int) int { return i + 1 },
	"dec": func(i int) int { return i - 1 },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.In.Title}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: .9em; } td, th { padding: .2em .8em; text-align: left; border-bottom: 1px solid #eee; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.differ { background: #fff4e0; font-weight: 600; }
td.differ { background: #fff0c0; }
td.delta { color: #555; }
figure { margin: 1em 0; } figure img { max-width: 100%; } figcaption { color: #555; font-size: .9em; }
.small { color: #666; font-size: .85em; }
.sides { display: inline-block; vertical-align: top; margin: 0 2em 1.5em 0; }
</style>
</head>
<body>
<h1>{{.In.Title}}</h1>
<p class="small">Generated {{.In.Generated.Format "2006-01-02 15:04:05 MST"}}. Deltas are against the first run, <b>{{(index .In.Runs 0).Name}}</b>.</p>

<h2>Runs</h2>
<table id="runs">
<tr><th>#</th><th>run</th></tr>
{{range $i, $r := .In.Runs}}<tr><td class="n">{{inc $i}}</td><td>{{$r.Name}}</td></tr>
{{end}}</table>

<h2>Parameters</h2>
<p class="small">Parameters that differ first, highlighted.</p>
<table id="parameters">
<tr><th>parameter</th>{{range .In.Runs}}<th>{{.Name}}</th>{{end}}</tr>
{{range .Params}}<tr{{if .Differ}} class="differ"{{end}}><th>{{.Key}}</th>{{range .Values}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>

<h2>Metrics</h2>
<table id="metrics">
<tr><th>figure</th>{{range $i, $r := .In.Runs}}<th class="n">{{$r.Name}}</th>{{if $i}}<th class="n">Δ</th>{{end}}{{end}}</tr>
{{range .Metrics}}<tr><th>{{.Name}}</th>{{$d := .Deltas}}{{range $i, $v := .Values}}<td class="n">{{$v}}</td>{{if $i}}<td class="n delta">{{index $d (dec $i)}}</td>{{end}}{{end}}</tr>
{{end}}</table>

<h2>Evaluation</h2>
{{if .Eval}}<table id="eval">
<tr><th>model</th><th>metric</th>{{range $i, $r := .In.Runs}}<th class="n">{{$r.Name}}</th>{{if $i}}<th class="n">Δ</th>{{end}}{{end}}</tr>
{{range .Eval}}<tr><td>{{.Model}}</td><th>{{.Metric}}</th>{{$d := .Deltas}}{{range $i, $v := .Values}}<td class="n">{{$v}}</td>{{if $i}}<td class="n delta">{{index $d (dec $i)}}</td>{{end}}{{end}}</tr>
{{end}}</table>
<p class="small">– : the run carries no evaluation of that model.</p>
{{else}}<p id="no-eval">None of these runs carries an evaluation. {{.In.EvalHint}}</p>
{{end}}

<h2>Distributions</h2>
{{range .Plots}}<figure id="{{.ID}}">
<img class="plot" alt="{{.Title}}" src="{{.PNG}}">
<figcaption>{{.Title}}. {{.Caption}}</figcaption>
</figure>
{{end}}

<h2>Sample lists</h2>
<p class="small">The same items' top neighbours in every run. Highlighted neighbours are not in {{(index .In.Runs 0).Name}}'s list (in its own column: missing from some other run's list).</p>
{{range .Samples}}<div class="sample"><h3>{{.Item}}</h3>
<table class="side">
<tr><th>#</th>{{range $.In.Runs}}<th>{{.Name}}</th><th class="n">score</th>{{end}}</tr>
{{range $j, $row := .Rows}}<tr><td class="n">{{inc $j}}</td>{{range $row}}<td{{if .Differ}} class="differ"{{end}}>{{.Item}}{{if .Differ}} *{{end}}</td><td class="n">{{.Score}}</td>{{end}}</tr>
{{end}}</table></div>
{{end}}
</body>
</html>
`))
