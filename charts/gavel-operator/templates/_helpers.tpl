{{/* The names are fixed: the generated RBAC binds the ServiceAccount `gavel-operator`. */}}

{{- define "gavel-operator.labels" -}}
app.kubernetes.io/name: gavel-operator
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{- define "gavel-operator.selectorLabels" -}}
app.kubernetes.io/name: gavel-operator
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "gavel-operator.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end }}
