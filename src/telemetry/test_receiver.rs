//! A minimal OTLP/HTTP receiver for tests: records every POST and decodes traces and metrics.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::metrics::v1::Metric;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

#[derive(Clone, Debug)]
pub(crate) struct Received {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Clone)]
pub(crate) struct Receiver {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    pub(crate) fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let sink = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let sink = sink.clone();
                std::thread::spawn(move || serve(stream, sink));
            }
        });
        Receiver { addr, requests }
    }

    pub(crate) fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub(crate) fn requests(&self) -> Vec<Received> {
        self.requests.lock().unwrap().clone()
    }

    pub(crate) fn spans(&self) -> Vec<(ExportTraceServiceRequest, Span)> {
        let mut out = Vec::new();
        for r in self
            .requests()
            .into_iter()
            .filter(|r| r.path == "/v1/traces")
        {
            let req = ExportTraceServiceRequest::decode(r.body.as_slice()).unwrap();
            for rs in &req.resource_spans {
                for ss in &rs.scope_spans {
                    for span in &ss.spans {
                        out.push((req.clone(), span.clone()));
                    }
                }
            }
        }
        out
    }

    pub(crate) fn metrics(&self) -> Vec<Metric> {
        let mut out = Vec::new();
        for r in self
            .requests()
            .into_iter()
            .filter(|r| r.path == "/v1/metrics")
        {
            let req = ExportMetricsServiceRequest::decode(r.body.as_slice()).unwrap();
            for rm in req.resource_metrics {
                for sm in rm.scope_metrics {
                    out.extend(sm.metrics);
                }
            }
        }
        out
    }
}

fn serve(stream: TcpStream, sink: Arc<Mutex<Vec<Received>>>) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("")
            .to_string();
        let mut headers = Vec::new();
        let mut length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                let name = name.trim().to_ascii_lowercase();
                let value = value.trim().to_string();
                if name == "content-length" {
                    length = value.parse().unwrap_or(0);
                }
                headers.push((name, value));
            }
        }
        let mut body = vec![0u8; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        sink.lock().unwrap().push(Received {
            path,
            headers,
            body,
        });
        let reply =
            "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
        if writer.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}
