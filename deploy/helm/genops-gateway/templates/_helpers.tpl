{{/* Names, labels and the rendered gateway.yaml shared by every template. */}}

{{- define "genops-gateway.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "genops-gateway.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "genops-gateway.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "genops-gateway.imageTag" -}}
{{- default .Chart.AppVersion .Values.image.tag -}}
{{- end -}}

{{/* Datadog's version tag: explicit, else the image tag (label-safe). */}}
{{- define "genops-gateway.ddVersion" -}}
{{- default (include "genops-gateway.imageTag" .) .Values.datadog.version | replace "+" "_" | replace ":" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "genops-gateway.selectorLabels" -}}
app.kubernetes.io/name: {{ include "genops-gateway.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Unified service tagging labels, read by the Datadog Agent. */}}
{{- define "genops-gateway.datadogLabels" -}}
tags.datadoghq.com/env: {{ .Values.datadog.env | quote }}
tags.datadoghq.com/service: {{ .Values.datadog.service | quote }}
tags.datadoghq.com/version: {{ include "genops-gateway.ddVersion" . | quote }}
{{- end -}}

{{- define "genops-gateway.labels" -}}
helm.sh/chart: {{ include "genops-gateway.chart" . }}
{{ include "genops-gateway.selectorLabels" . }}
app.kubernetes.io/version: {{ include "genops-gateway.imageTag" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{ include "genops-gateway.datadogLabels" . }}
{{- end -}}

{{- define "genops-gateway.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "genops-gateway.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "genops-gateway.configMapName" -}}
{{- default (include "genops-gateway.fullname" .) .Values.existingConfigMap -}}
{{- end -}}

{{/*
The gateway.yaml the ConfigMap carries: `configFile` verbatim, else `config` with
telemetry.exporter (and, for the Agent, the OTLP endpoint) set from datadog.mode.
*/}}
{{- define "genops-gateway.configYaml" -}}
{{- if .Values.configFile -}}
{{- .Values.configFile -}}
{{- else -}}
{{- $cfg := deepCopy (default (dict) .Values.config) -}}
{{- $tel := deepCopy (default (dict) (get $cfg "telemetry")) -}}
{{- $mode := default "" .Values.datadog.mode -}}
{{- if eq $mode "direct" -}}
{{- $_ := set $tel "exporter" "datadog" -}}
{{- else if eq $mode "agent" -}}
{{- $_ := set $tel "exporter" "otlp" -}}
{{- $otlp := deepCopy (default (dict) (get $tel "otlp")) -}}
{{- $_ := set $otlp "endpoint" (printf "http://${DD_AGENT_HOST}:%v" .Values.datadog.agent.otlpHttpPort) -}}
{{- $_ := set $otlp "protocol" "http/protobuf" -}}
{{- $_ := set $tel "otlp" $otlp -}}
{{- else if eq $mode "none" -}}
{{- $_ := set $tel "exporter" "none" -}}
{{- else if ne $mode "" -}}
{{- fail (printf "datadog.mode must be direct, agent, none or empty, not %q" $mode) -}}
{{- end -}}
{{- $_ := set $cfg "telemetry" $tel -}}
{{- toYaml $cfg -}}
{{- end -}}
{{- end -}}

{{/* One env entry from a Secret reference {name, key}; nothing when name is empty. */}}
{{- define "genops-gateway.secretEnv" -}}
{{- $ref := default (dict) (index . 1) -}}
{{- if $ref.name -}}
- name: {{ index . 0 }}
  valueFrom:
    secretKeyRef:
      name: {{ $ref.name | quote }}
      key: {{ required (printf "a key is required for the secret reference behind %s" (index . 0)) $ref.key | quote }}
{{- end -}}
{{- end -}}
