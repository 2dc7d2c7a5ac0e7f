use super::*;
use crate::launch::iid::{Hd, IidDateTime, IidOptions, PatientCx, PatientFilters, PatientQuery, ViewerType};
use std::num::NonZeroU32;

const BASE: &str = "https://viewer.example/viewer/IHEInvokeImageDisplay";

fn base(text: &str) -> Url {
    Url::parse(text).unwrap()
}

fn build(request: &IidRequest) -> Result<String, InvokerError> {
    build_iid_url(&base(BASE), request).map(String::from)
}

fn study(key: StudyKey) -> IidRequest {
    IidRequest::Study { key, options: IidOptions::default() }
}

fn patient(cx: &str) -> IidRequest {
    let id = PatientCx::parse(cx).unwrap();
    IidRequest::Patient {
        patient: PatientQuery { id, name: None, birth_date: None },
        filters: PatientFilters::default(),
        options: IidOptions::default(),
    }
}

#[test]
fn study_url_as_the_hl7_eu_example_writes_it() {
    let request = IidRequest::Study {
        key: StudyKey::StudyUids(vec!["1.2.840.113883.19.110.4".into(), "1.2.840.113883.19.110.5".into()]),
        options: IidOptions { viewer_type: Some(ViewerType::IheBir), diagnostic_quality: Some(true), key_images_only: None },
    };
    assert_eq!(
        build(&request).unwrap(),
        format!(
            "{BASE}?requestType=STUDY&studyUID=1.2.840.113883.19.110.4,1.2.840.113883.19.110.5&viewerType=IHE_BIR&diagnosticQuality=true"
        )
    );
    let by_accession = study(StudyKey::AccessionNumbers(vec!["A 1/2".into(), "B&C^D".into()]));
    assert_eq!(build(&by_accession).unwrap(), format!("{BASE}?requestType=STUDY&accessionNumber=A%201%2F2,B%26C%5ED"));
}

#[test]
fn patient_url_encodes_the_cx_delimiters() {
    let IidRequest::Patient { patient: p, options, .. } = patient("99998410^^^&1.2.3.4&ISO") else { unreachable!() };
    let filters = PatientFilters {
        lower_date_time: IidDateTime::parse("2010-01-01T12:00:00+01:00"),
        upper_date_time: IidDateTime::parse("2011-01-01"),
        most_recent_results: NonZeroU32::new(3),
        modalities_in_study: vec!["MR".into(), "XA".into()],
    };
    let named = PatientQuery { name: Some("Doe^Jane Q".into()), birth_date: IidDateTime::parse("1970-03-01"), ..p };
    let url =
        build(&IidRequest::Patient { patient: named, filters, options: IidOptions { key_images_only: Some(false), ..options } }).unwrap();
    assert_eq!(
        url,
        format!(
            "{BASE}?requestType=PATIENT&patientID=99998410%5E%5E%5E%261.2.3.4%26ISO&patientName=Doe%5EJane%20Q&patientBirthDate=1970-03-01\
             &lowerDateTime=2010-01-01T12%3A00%3A00%2B01%3A00&upperDateTime=2011-01-01&mostRecentResults=3&modalitiesInStudy=MR,XA\
             &keyImagesOnly=false"
        )
    );
    assert_eq!(build(&patient("1,2^^^Acme")).unwrap(), format!("{BASE}?requestType=PATIENT&patientID=1%2C2%5E%5E%5EAcme"));
    assert_eq!(
        build(&patient("A\\S\\B^^^St\\T\\Mary")).unwrap(),
        format!("{BASE}?requestType=PATIENT&patientID=A%5CS%5CB%5E%5E%5ESt%5CT%5CMary")
    );
}

#[test]
fn the_base_keeps_its_own_parameters_but_may_not_set_iid_ones_or_a_token() {
    let kept = build_iid_url(&base("https://pacs.example/IHEInvokeImageDisplay?site=north"), &patient("1^^^A")).unwrap();
    assert_eq!(kept.as_str(), "https://pacs.example/IHEInvokeImageDisplay?site=north&requestType=PATIENT&patientID=1%5E%5E%5EA");
    let refused = |b: &str| build_iid_url(&base(b), &patient("1^^^A")).unwrap_err();
    assert_eq!(refused("ftp://pacs.example/IHEInvokeImageDisplay"), InvokerError::NotHttp);
    assert_eq!(refused("https://user:pw@pacs.example/IHEInvokeImageDisplay"), InvokerError::Credentials);
    assert_eq!(refused("https://pacs.example/IHEInvokeImageDisplay#access_token=x"), InvokerError::Fragment);
    assert_eq!(refused("https://pacs.example/IHEInvokeImageDisplay?access_token=x"), InvokerError::Token);
    assert_eq!(
        refused("https://pacs.example/IHEInvokeImageDisplay?requestType=STUDY"),
        InvokerError::BaseSetsParameter("requestType".into())
    );
    assert_eq!(refused("https://pacs.example/IHEInvokeImageDisplay?PatientID=2"), InvokerError::BaseSetsParameter("PatientID".into()));
}

#[test]
fn requests_the_viewer_would_refuse_are_not_built() {
    use crate::launch::iid::{CxError, IidError};
    let uids = |list: &[&str]| study(StudyKey::StudyUids(list.iter().map(|s| s.to_string()).collect()));
    assert_eq!(build(&uids(&[])), Err(InvokerError::Invalid(IidError::EmptyValue("studyUID"))));
    assert_eq!(build(&uids(&["1.2", ""])), Err(InvokerError::Invalid(IidError::EmptyListEntry { name: "studyUID", position: 2 })));
    assert_eq!(build(&uids(&["1.2", "1.02"])), Err(InvokerError::Invalid(IidError::InvalidUid(2))));
    let commas = study(StudyKey::AccessionNumbers(vec!["A".into(), "B,C".into()]));
    assert_eq!(build(&commas), Err(InvokerError::CommaInEntry { name: "accessionNumber", position: 2 }));
    let IidRequest::Patient { patient: p, filters, options } = patient("1^^^A") else { unreachable!() };
    let lower_case = PatientFilters { modalities_in_study: vec!["ct".into()], ..filters.clone() };
    let r = IidRequest::Patient { patient: p.clone(), filters: lower_case, options: options.clone() };
    assert_eq!(build(&r), Err(InvokerError::Invalid(IidError::InvalidModality(1))));
    let no_id = PatientQuery { id: PatientCx { id: " ".into(), assigning_authority: None }, ..p.clone() };
    let r = IidRequest::Patient { patient: no_id, filters: filters.clone(), options: options.clone() };
    assert_eq!(build(&r), Err(InvokerError::Invalid(IidError::InvalidPatientId(CxError::MissingId))));
    // An authority with only empty parts reads back as no authority: not the same request.
    let empty_authority = PatientQuery { id: PatientCx { id: "1".into(), assigning_authority: Some(Hd::default()) }, ..p };
    assert_eq!(build(&IidRequest::Patient { patient: empty_authority, filters, options }), Err(InvokerError::NotRepresentable));
}

#[test]
fn values_by_name_are_written_as_given_and_read_back() {
    use crate::launch::iid::IidError;
    let text = |param, value: &str| (param, ParamValue::Text(value.into()));
    let values = vec![
        text(Param::RequestType, "PATIENT"),
        text(Param::PatientId, "1^^^&1.2.3&ISO"),
        (Param::ModalitiesInStudy, ParamValue::List(vec!["CT".into(), "MR".into()])),
        text(Param::MostRecentResults, "2"),
    ];
    let (url, request) = iid_url_from_values(&base(BASE), values).unwrap();
    assert_eq!(
        url.as_str(),
        format!("{BASE}?requestType=PATIENT&patientID=1%5E%5E%5E%261.2.3%26ISO&modalitiesInStudy=CT,MR&mostRecentResults=2")
    );
    assert_eq!(build_iid_url(&base(BASE), &request).map(|u| IidRequest::parse_query(u.query().unwrap())), Ok(Ok(request)));
    let twice = vec![text(Param::RequestType, "STUDY"), text(Param::RequestType, "STUDY")];
    assert_eq!(iid_url_from_values(&base(BASE), twice).unwrap_err(), InvokerError::Invalid(IidError::Repeated("requestType")));
    let comma = vec![text(Param::RequestType, "STUDY"), (Param::StudyUid, ParamValue::List(vec!["1.2,1.3".into()]))];
    assert_eq!(iid_url_from_values(&base(BASE), comma).unwrap_err(), InvokerError::CommaInEntry { name: "studyUID", position: 1 });
    let token_base = base("https://pacs.example/IHEInvokeImageDisplay?access_token=x");
    assert_eq!(iid_url_from_values(&token_base, vec![text(Param::RequestType, "STUDY")]).unwrap_err(), InvokerError::Token);
}

/// xorshift64*: the same requests on every run, no dependency.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self) -> bool {
        self.next() & 1 == 1
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
    fn maybe<T>(&mut self, f: impl FnOnce(&mut Gen) -> T) -> Option<T> {
        if self.chance() {
            Some(f(self))
        } else {
            None
        }
    }
    fn text(&mut self, alphabet: &[char], len: std::ops::RangeInclusive<usize>) -> String {
        let n = len.start() + self.below(len.end() - len.start() + 1);
        (0..n).map(|_| alphabet[self.below(alphabet.len())]).collect()
    }
    fn uid(&mut self) -> String {
        let arcs = 2 + self.below(8);
        (0..arcs)
            .map(|i| if i == 0 { (1 + self.below(2)).to_string() } else { (self.next() % 100_000).to_string() })
            .collect::<Vec<_>>()
            .join(".")
    }
    fn list(&mut self, f: impl Fn(&mut Gen) -> String) -> Vec<String> {
        (0..1 + self.below(4)).map(|_| f(self)).collect()
    }
    fn date_time(&mut self) -> IidDateTime {
        let mut text = format!("{:04}-{:02}-{:02}", 1900 + self.below(200), 1 + self.below(12), 1 + self.below(28));
        if self.chance() {
            text += &format!("T{:02}:{:02}:{:02}", self.below(24), self.below(60), self.below(60));
            if self.chance() {
                text += &format!(".{}", self.next() % 1000);
            }
        }
        text += self.pick(&["", "Z", "+01:00", "-05:30", "+14:00"]);
        IidDateTime::parse(&text).unwrap()
    }
}

/// Every character a URL or HL7 v2 treats specially, plus some that are not ASCII; no commas in
/// list entries (they separate them) and no backslash in DICOM SH.
const SPECIAL: &[char] = &['^', '&', '~', '|', '\\', '%', '+', '=', '?', '#', '/', ';', ':', ' ', '\'', '"', 'é', '山', ','];
const ACCESSION: &[char] = &['A', 'Z', '0', '9', '-', '_', '/', '^', '&', '%', '+', '=', '?', '#', ';', ':', ' ', 'é'];

fn id_text(g: &mut Gen) -> String {
    let alphabet: Vec<char> = ('0'..='9').chain(['A', 'x']).chain(SPECIAL.iter().copied()).collect();
    format!("{}{}", g.pick(&["P", "7", "é"]), g.text(&alphabet, 0..=12))
}

fn authority(g: &mut Gen) -> Option<Hd> {
    let namespace = g.maybe(id_text);
    let universal = match g.below(3) {
        0 => None,
        1 => Some((g.uid(), "ISO".to_string())),
        _ => Some((format!("{}.example", g.text(&['a', 'b', '-', '&', '^'], 1..=6)), "DNS".to_string())),
    };
    let hd =
        Hd { namespace_id: namespace, universal_id: universal.as_ref().map(|u| u.0.clone()), universal_id_type: universal.map(|u| u.1) };
    (hd != Hd::default()).then_some(hd)
}

fn request(g: &mut Gen) -> IidRequest {
    let options = IidOptions {
        viewer_type: g.maybe(|_| ViewerType::IheBir),
        diagnostic_quality: g.maybe(Gen::chance),
        key_images_only: g.maybe(Gen::chance),
    };
    if g.chance() {
        let key = if g.chance() {
            StudyKey::StudyUids(g.list(Gen::uid))
        } else {
            StudyKey::AccessionNumbers(g.list(|g| format!("{}{}", g.pick(&["A", "9"]), g.text(ACCESSION, 0..=14).trim_end())))
        };
        return IidRequest::Study { key, options };
    }
    let id = PatientCx { id: id_text(g), assigning_authority: authority(g) };
    let name = g.maybe(|g| {
        let part = |g: &mut Gen| format!("{}{}", g.pick(&["D", "é", "山"]), g.text(&['o', 'e', ' ', '-', '\'', '&', ',', '山'], 0..=8));
        match g.below(3) {
            0 => part(g),
            1 => format!("{}^{}", part(g), part(g)),
            _ => format!("{}^{}^^Dr={}", part(g), part(g), part(g)),
        }
    });
    let patient = PatientQuery { id, name, birth_date: g.maybe(Gen::date_time) };
    let filters = PatientFilters {
        lower_date_time: g.maybe(Gen::date_time),
        upper_date_time: g.maybe(Gen::date_time),
        most_recent_results: g
            .maybe(|g| NonZeroU32::new(1 + g.below(1000) as u32))
            .flatten()
            .or((g.below(10) == 0).then_some(NonZeroU32::MAX)),
        modalities_in_study: if g.chance() {
            Vec::new()
        } else {
            g.list(|g| g.pick(&["CT", "MR", "XA", "US", "CR", "DX", "PT", "NM", "SR"]).into())
        },
    };
    IidRequest::Patient { patient, filters, options }
}

#[test]
fn generated_requests_survive_build_then_parse() {
    let mut g = Gen(0x1D_5EED);
    let (mut studies, mut patients, mut authorities, mut specials) = (0, 0, 0, 0);
    for _ in 0..2000 {
        let r = request(&mut g);
        let url = build_iid_url(&base(BASE), &r).unwrap_or_else(|e| panic!("{r:?}: {e}"));
        let query = url.query().unwrap();
        assert_eq!(IidRequest::parse_query(query).as_ref(), Ok(&r), "{url}");
        assert!(!query.contains(TOKEN_PARAMETER) && url.fragment().is_none());
        assert!(!query.contains(['^', '+', ' ', '|', '\\']), "delimiters are percent-encoded: {query}");
        match &r {
            IidRequest::Study { .. } => studies += 1,
            IidRequest::Patient { patient, .. } => {
                patients += 1;
                authorities += usize::from(patient.id.assigning_authority.is_some());
                specials += usize::from(patient.id.id.contains(['^', '&', '\\', '~', '|']));
            }
        }
    }
    assert!(studies > 800 && patients > 800 && authorities > 500 && specials > 300, "{studies} {patients} {authorities} {specials}");
}
