//! Windows Job Objects: the one module allowed `unsafe` (the crate denies
//! it everywhere else). `exec` puts every command it runs in a job that
//! kills all its processes when closed, so a `.bat` that starts `cmd.exe`,
//! which starts `conda.exe`, which starts `python.exe`, goes as one tree;
//! and it asks the job how many of them are still running before it says
//! "killed". Each call below is a plain Win32 call on a handle this type
//! owns; nothing is shared between threads.
#![allow(unsafe_code)]

use std::io;
use std::os::windows::io::AsRawHandle;
use std::process::Child;
use windows_sys::Win32::Foundation::{CloseHandle, HANDLE};
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JobObjectBasicAccountingInformation,
    JobObjectExtendedLimitInformation, QueryInformationJobObject, SetInformationJobObject,
    TerminateJobObject, JOBOBJECT_BASIC_ACCOUNTING_INFORMATION,
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION, JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
};

/// An anonymous job whose processes are all killed when it is closed (when
/// this value is dropped, or when gpaudit itself dies).
#[derive(Debug)]
pub struct Job {
    handle: HANDLE,
}

impl Job {
    pub fn new() -> io::Result<Job> {
        // SAFETY: no security attributes, no name; the handle is checked and
        // owned by the returned value, which closes it once.
        let handle = unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) };
        if handle.is_null() {
            return Err(io::Error::last_os_error());
        }
        let job = Job { handle };
        let mut limits = JOBOBJECT_EXTENDED_LIMIT_INFORMATION::default();
        limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
        // SAFETY: `limits` is the structure this information class takes,
        // alive for the call, and its size is passed with it.
        let ok = unsafe {
            SetInformationJobObject(
                job.handle,
                JobObjectExtendedLimitInformation,
                (&raw const limits).cast(),
                size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
            )
        };
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(job)
    }

    /// Put a just-started child in the job; the processes it starts from
    /// now on belong to the job too.
    pub fn assign(&self, child: &Child) -> io::Result<()> {
        // SAFETY: both handles are open: the job's is owned by `self`, the
        // process's by `child`, which outlives the call.
        let ok = unsafe { AssignProcessToJobObject(self.handle, child.as_raw_handle()) };
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Kill every process in the job.
    pub fn terminate(&self) -> io::Result<()> {
        // SAFETY: the handle is open and owned by `self`.
        let ok = unsafe { TerminateJobObject(self.handle, 1) };
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// How many processes of the job are still running.
    pub fn active_processes(&self) -> io::Result<u32> {
        let mut info = JOBOBJECT_BASIC_ACCOUNTING_INFORMATION::default();
        // SAFETY: `info` is the structure this information class fills,
        // writable and alive for the call, and its size is passed with it.
        let ok = unsafe {
            QueryInformationJobObject(
                self.handle,
                JobObjectBasicAccountingInformation,
                (&raw mut info).cast(),
                size_of::<JOBOBJECT_BASIC_ACCOUNTING_INFORMATION>() as u32,
                std::ptr::null_mut(),
            )
        };
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(info.ActiveProcesses)
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        // SAFETY: the handle is open and closed only here. Closing the last
        // handle kills whatever is left in the job (KILL_ON_JOB_CLOSE).
        unsafe { CloseHandle(self.handle) };
    }
}
